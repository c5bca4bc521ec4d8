import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LaneRunner, type MethodMaker } from './lanes.ts';
import { createTinyModel, randomImages } from '../methods/testing/tiny-model.ts';
import { softmaxEntropy } from '../methods/shared/entropy.ts';
import { createOptimizer } from '../methods/shared/optim.ts';
import type { TTAMethod } from '../methods/types.ts';

await tf.setBackend('cpu');

/** A minimal Tent (batch-statistics BN, entropy minimisation on BN affine, SGD) for the lane tests. */
const entropyMin: MethodMaker = (model) => {
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine');
  const source = model.snapshot(vars);
  const opt = createOptimizer(vars, { kind: 'sgd', lr: 0.5 });
  const method: TTAMethod = {
    name: 'entropy-min',
    adapts: 'norm-affine',
    async step(images) {
      const probs = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.mean(softmaxEntropy(model.forward(images).logits)) as tf.Scalar, vars);
        const p = tf.softmax(model.forward(images).logits);
        opt.step(vars.map((v) => grads[v.name]!));
        value.dispose();
        return p;
      });
      return { probs, stats: {} };
    },
    reset() {
      model.restore(source);
      opt.reset();
    },
    state: () => ({}),
    dispose() {
      source.dispose();
      opt.dispose();
    },
  };
  return method;
};

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('source lane stays the frozen model; adapted lane moves; feedback adds an unsupervised twin', async () => {
  const model = createTinyModel({ numClasses: 4, inputSize: 8, seed: 5 });
  const frozen = model.clone();
  frozen.setNormMode({ kind: 'running' });
  const runner = await LaneRunner.create(model, entropyMin, { compareSource: true, feedback: { optimizer: { kind: 'sgd', lr: 0.5 } } });
  const batches = [0, 1, 2, 3].map((i) => randomImages(6, 8, 100 + i));
  const expectSource = tf.tidy(() => tf.softmax(frozen.forward(batches[2]!).logits).dataSync() as Float32Array);

  const s1 = await runner.step(batches[0]!);
  assert.deepEqual(Object.keys(s1.lanes).sort(), ['adapted', 'source']);
  assert.deepEqual(s1.lanes.adapted!.shape, [6, 4]);
  assert.equal(s1.steps, 1);
  await runner.step(batches[1]!);
  const tensors = tf.memory().numTensors;
  const s3 = await runner.step(batches[2]!);
  assert.ok(maxDiff(s3.lanes.source!.probs, expectSource) < 1e-6, 'source lane = frozen eval-mode model');
  assert.ok(maxDiff(s3.lanes.adapted!.probs, expectSource) > 1e-3, 'adapted lane differs from source');

  const img = (batches[3]!.dataSync() as Float32Array).slice(0, 8 * 8 * 3);
  assert.equal(await runner.addFeedback(img, { kind: 'label', cls: 2 }), 1);
  const s4 = await runner.step(batches[3]!);
  assert.ok(s4.feedback && s4.feedback.labelled === 1 && Number.isFinite(s4.feedback.loss));
  // The twin was cloned from the adapted state, and feedback steps come after prediction: same output this step.
  assert.ok(maxDiff(s4.lanes.adapted!.probs, s4.lanes.unsupervised!.probs) < 1e-6);
  const s5 = await runner.step(batches[0]!);
  assert.ok(maxDiff(s5.lanes.adapted!.probs, s5.lanes.unsupervised!.probs) > 1e-4, 'feedback changes the adapted lane only');

  runner.reset();
  assert.equal(runner.stepCount, 0);
  const r = await runner.step(batches[0]!);
  assert.ok(maxDiff(r.lanes.adapted!.probs, s1.lanes.adapted!.probs) < 1e-6, 'reset = back to the source model');
  assert.equal(r.lanes.unsupervised, undefined);
  runner.reset();
  await runner.step(batches[1]!);
  await runner.step(batches[2]!);
  assert.equal(tf.memory().numTensors, tensors, 'lanes do not leak tensors');

  runner.dispose();
  frozen.dispose();
  model.dispose();
  tf.dispose(batches);
});

test('exported values restore the adapted model exactly; mismatched states are refused', async () => {
  const model = createTinyModel({ numClasses: 4, inputSize: 8, seed: 6 });
  const runner = await LaneRunner.create(model, entropyMin, { compareSource: false });
  const x = randomImages(5, 8, 7);
  await runner.step(x);
  await runner.step(x);
  const saved = await runner.exportValues();
  const probe = randomImages(5, 8, 8);
  const a = await runner.step(probe);
  await runner.step(x);
  runner.importValues(saved, 2);
  assert.equal(runner.stepCount, 2);
  const b = await runner.step(probe);
  assert.deepEqual(Array.from(b.lanes.adapted!.probs), Array.from(a.lanes.adapted!.probs));

  assert.throws(() => runner.importValues(saved.slice(1), 0), /has \d+ tensors, model 'tiny-classification' has \d+/);
  const bad = saved.map((r, i) => (i === 0 ? { ...r, shape: [1, ...r.shape] } : r));
  assert.throws(() => runner.importValues(bad, 0), /tensor 0 '.*' has shape \[1,/);
  runner.dispose();
  model.dispose();
  tf.dispose([x, probe]);
});
