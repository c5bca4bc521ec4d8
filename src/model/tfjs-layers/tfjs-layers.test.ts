// Our TF.js-layers import vs tfjs's own tf.loadLayersModel predictions.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadTfjsLayersModel } from '../index.ts';

const DARKNET = resolve(import.meta.dirname, '../../../models/darknet-tiny');

before(async () => {
  await tf.setBackend('wasm');
});

interface Saved {
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  weights: ArrayBuffer;
}

/** Serialise a tfjs layers model the way tf.io saves it (model.json + one weight shard). */
async function save(model: tf.LayersModel): Promise<Saved> {
  let saved: Saved | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData as ArrayBuffer;
      saved = {
        modelJson: { modelTopology: a.modelTopology as object, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs! }] },
        weights: data,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('a functional model with every supported layer kind matches predict() (softmax dropped)', async () => {
  const inp = tf.input({ shape: [12, 10, 3] });
  let x = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', seed: 1 } as never).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-3, movingMeanInitializer: 'randomNormal', movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 3 }), gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 4 }), betaInitializer: tf.initializers.randomNormal({ seed: 5 }) }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.leakyReLU({ alpha: 0.1 }).apply(x) as tf.SymbolicTensor;
  const b = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', seed: 2 } as never).apply(x) as tf.SymbolicTensor;
  const b2 = tf.layers.conv2d({ filters: 6, kernelSize: 1, seed: 6 } as never).apply(b) as tf.SymbolicTensor;
  x = tf.layers.add().apply([a, b2]) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const p1 = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const p2 = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.concatenate().apply([p1, p2]) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 8, activation: 'sigmoid', seed: 7 } as never).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [2, 4] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 5, activation: 'softmax', seed: 8 } as never).apply(x) as tf.SymbolicTensor;
  const keras = tf.model({ inputs: inp, outputs: x });
  const { modelJson, weights } = await save(keras);
  const ours = await loadTfjsLayersModel(modelJson, weights, { name: 'keras-mix' });
  assert.equal(ours.info.numClasses, 5);
  assert.equal(ours.norms.length, 1);
  const images = tf.randomUniform([3, 12, 10, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  const want = keras.predict(images) as tf.Tensor;
  const { logits, features } = ours.forward(images, { features: true });
  const probs = tf.softmax(logits);
  assert.ok(maxAbs(probs, want) < 1e-5, `max abs diff ${maxAbs(probs, want)}`);
  assert.deepEqual(features!.shape, [3, 8]);
  tf.dispose([images, want, logits, features!, probs]);
  ours.dispose();
  keras.dispose();
});

test('darknet-tiny (models/) matches tf.loadLayersModel predict on the same input', async () => {
  const modelJson = JSON.parse(readFileSync(resolve(DARKNET, 'model.json'), 'utf8'));
  const shards = new Map<string, ArrayBuffer>();
  for (const g of modelJson.weightsManifest) for (const p of g.paths) shards.set(p, new Uint8Array(readFileSync(resolve(DARKNET, p))).buffer);
  const ours = await loadTfjsLayersModel(modelJson, shards, { name: 'darknet-tiny' });
  assert.deepEqual(ours.info.inputShape, [224, 224, 3]);
  assert.equal(ours.info.numClasses, 1000);
  assert.equal(ours.norms.length, 15);
  const all = new Uint8Array([...shards.values()].reduce((s, b) => s + b.byteLength, 0));
  let off = 0;
  for (const b of shards.values()) {
    all.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  const reference = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: all.buffer }),
  );
  const images = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const want = reference.predict(images) as tf.Tensor;
  const { logits } = ours.forward(images);
  const err = maxAbs(logits, want);
  assert.ok(err < 1e-3 * Math.max(1, maxAbs(want, tf.zerosLike(want))), `max abs diff ${err}`);
  tf.dispose([images, want, logits]);
  reference.dispose();
  ours.dispose();
});

test('missing weight and unsupported layer fail with names', async () => {
  const inp = tf.input({ shape: [4, 4, 1] });
  const out = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(inp) as tf.SymbolicTensor;
  const { modelJson, weights } = await save(tf.model({ inputs: inp, outputs: out }));
  const noBias = structuredClone(modelJson);
  noBias.weightsManifest[0]!.weights = noBias.weightsManifest[0]!.weights.filter((w) => !w.name.endsWith('bias'));
  await assert.rejects(loadTfjsLayersModel(noBias, weights, { name: 'x' }), /layer 'conv2d_\w+' has no weight 'bias'/);
  // tf.io saves the topology without the model_config wrapper that converted files have.
  const lstm = structuredClone(modelJson) as { modelTopology: { config: { layers: { class_name: string }[] } } };
  lstm.modelTopology.config.layers[1]!.class_name = 'LSTM';
  await assert.rejects(loadTfjsLayersModel(lstm, weights, { name: 'x' }), /unsupported layer 'LSTM'/);
  await assert.rejects(loadTfjsLayersModel(modelJson, new ArrayBuffer(8), { name: 'x' }), /runs past the end of the weight bytes/);
});
