// Every method on the ONNX importer's fixture models (models/fixtures, PyTorch-exported).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadOnnxModel } from '../model/index.ts';
import type { AdaptableModel } from '../model/types.ts';
import { fixtureBytes } from '../model/testing/node-fixtures.ts';
import { METHODS, createMethod, tensorSource } from './index.ts';
import { softmaxEntropy } from './shared/entropy.ts';
import { randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, tensorGrowth } from './testing/backend.ts';
import { SMALL_SETTINGS } from './testing/small-settings.ts';

before(useCpuBackend);

const ctx = { seed: 11, dataset: 'cifar10' as const };
const allValues = (m: AdaptableModel) => [...m.params.values(), ...m.norms.flatMap((n) => [n.runningMean, n.runningVar])].map(values);


test('resnet-tiny: Tent gradient of a BN weight equals central finite differences', async () => {
  const model = await loadOnnxModel(fixtureBytes('resnet-tiny'), { name: 'resnet-tiny' });
  model.setNormMode({ kind: 'batch' });
  const x = randomImages(8, 16, 1);
  const loss = () => tf.mean(softmaxEntropy(model.forward(x).logits)) as tf.Scalar;
  for (const v of [model.norms[0]!.weight, model.norms[model.norms.length - 1]!.bias]) {
    const { grads, value } = tf.variableGrads(loss, [v]);
    value.dispose();
    const g = values(grads[v.name]!);
    const base = values(v);
    const i = g.reduce((best, gi, k) => (Math.abs(gi) > Math.abs(g[best]!) ? k : best), 0);
    const at = (d: number) => {
      const shifted = base.slice();
      shifted[i] = base[i]! + d;
      v.assign(tf.tensor1d(shifted));
      return tf.tidy(() => loss().dataSync()[0]!);
    };
    const eps = 1e-2;
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    v.assign(tf.tensor1d(base));
    assert.ok(Math.abs(fd - g[i]!) < 0.02 * Math.abs(g[i]!) + 1e-4, `${v.name}[${i}]: fd ${fd} vs grad ${g[i]}`);
  }
  model.dispose();
});

test('resnet-tiny: every method steps without leaks, predicts [N, 10] and resets bit-exactly', async () => {
  const x = randomImages(8, 16, 2);
  const timings: string[] = [];
  for (const name of METHODS.keys()) {
    const model = await loadOnnxModel(fixtureBytes('resnet-tiny'), { name: 'resnet-tiny' });
    const src = allValues(model);
    const method = await createMethod(name, model, { ...ctx, sourceData: tensorSource(randomImages(16, 16, 3)) }, { overrides: SMALL_SETTINGS[name] });
    const t0 = performance.now();
    const growth = await tensorGrowth(async () => {
      const r = await method.step(x);
      assert.deepEqual(r.probs.shape, [8, 10], name);
      const finite = tf.tidy(() => tf.all(tf.isFinite(r.probs)).dataSync()[0]);
      assert.equal(finite, 1, `${name}: finite probabilities`);
      r.probs.dispose();
      r.outlierScore?.dispose();
    }, 2);
    timings.push(`${name} ${((performance.now() - t0) / 3).toFixed(0)} ms`);
    assert.equal(growth, 0, `${name} leaks ${growth} tensors per step`);
    method.reset();
    assert.deepEqual(allValues(model), src, `${name}: reset restores the source bit-exactly`);
    method.dispose();
    model.dispose();
  }
  console.log(`per step, resnet-tiny batch 8 on tfjs cpu: ${timings.join(', ')}`);
});

test('segmenter-tiny: source, BN, Tent and CoTTA give per-pixel probabilities and adapt', async () => {
  const x = randomImages(2, 16, 4);
  for (const name of ['source', 'bn', 'tent', 'cotta']) {
    const model = await loadOnnxModel(fixtureBytes('segmenter-tiny'), { name: 'segmenter-tiny' });
    const src = allValues(model);
    const method = await createMethod(name, model, ctx, { overrides: name === 'cotta' ? { views: 2, anchorThreshold: 1.01 } : {} });
    const r = await method.step(x);
    assert.equal(r.probs.rank, 4);
    assert.equal(r.probs.shape[3], 5);
    r.probs.dispose();
    if (name === 'tent' || name === 'cotta') assert.notDeepEqual(allValues(model), src, `${name} adapted`);
    method.dispose();
    assert.deepEqual(allValues(model), src, `${name}: dispose leaves the source model`);
    model.dispose();
  }
});
