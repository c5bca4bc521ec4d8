import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createTent } from './tent.ts';
import { createSource } from './source.ts';
import { createBn } from './bn.ts';
import { softmaxEntropy } from './shared/entropy.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 0, dataset: 'cifar10' as const };

test('source uses running statistics; BN-1 / BN-alpha differ from it as the statistics say; BN-EMA moves the stored ones', async () => {
  const model = createTinyModel();
  const x = randomImages(5, 8, 1);
  const src = await createSource(model, ctx);
  const p0 = (await src.step(x)).probs;
  const bn = await createBn('bn')(model, ctx);
  const p1 = (await bn.step(x)).probs;
  bn.dispose();
  const alpha0 = await createBn('bn-alpha')(model, ctx, { alpha: 0 });
  assert.ok(maxAbsDiff(values((await alpha0.step(x)).probs), values(p0)) < 1e-6, 'alpha 0 = source');
  alpha0.dispose();
  const alpha1 = await createBn('bn-alpha')(model, ctx, { alpha: 1 });
  assert.ok(maxAbsDiff(values((await alpha1.step(x)).probs), values(p1)) < 1e-6, 'alpha 1 = BN-1');
  alpha1.dispose();
  assert.ok(maxAbsDiff(values(p0), values(p1)) > 1e-3);
  const rm = model.norms[0]!.runningMean;
  const before0 = values(rm);
  const ema = await createBn('bn-ema')(model, ctx, { momentum: 0.5 });
  await ema.step(x);
  const batchMean = values(tf.mean(tf.conv2d(x, model.params.get('conv1.weight') as tf.Tensor4D, 1, 'same'), [0, 1, 2]));
  assert.ok(maxAbsDiff(values(rm), before0.map((v, i) => 0.5 * v + 0.5 * batchMean[i]!)) < 1e-5);
  ema.reset();
  assert.deepEqual(values(rm), before0, 'reset restores the statistics bit-exactly');
  ema.dispose();
  assert.deepEqual(model.norms.map((n) => n.mode.kind), ['running', 'running']);
  assert.throws(() => createBn('bn-alpha')(model, ctx, { alpha: 2 }), /alpha must be in \[0, 1\]/);
  assert.throws(() => createBn('bn-alpha')(model, ctx, { alfa: 0.1 }), /unknown option 'alfa'/);
});

test('Tent gradient equals central finite differences of the batch-mean entropy', () => {
  const model = createTinyModel({ seed: 2 });
  model.setNormMode({ kind: 'batch' });
  const x = randomImages(6, 8, 3);
  const vars = model.parameters('norm-affine');
  const loss = () => tf.mean(softmaxEntropy(model.forward(x).logits)) as tf.Scalar;
  const { grads } = tf.variableGrads(loss, vars);
  const eps = 1e-2;
  for (const v of vars) {
    const g = values(grads[v.name]!);
    for (const i of [0, 3]) {
      const base = values(v);
      const at = (d: number) => {
        const shifted = base.slice();
        shifted[i] = base[i]! + d;
        v.assign(tf.tensor1d(shifted));
        return loss().dataSync()[0]!;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor1d(base));
      assert.ok(Math.abs(fd - g[i]!) < 2e-3 * Math.max(1, Math.abs(g[i]!)) + 2e-4, `${v.name}[${i}]: fd ${fd} vs grad ${g[i]}`);
    }
  }
});

test('Tent step: prediction from the pre-update pass, Adam first step moves each parameter by lr * sign(grad), no leaks, bit-exact reset', async () => {
  const model = createTinyModel({ seed: 4 });
  const x = randomImages(6, 8, 5);
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine');
  const expectedProbs = values(tf.softmax(model.forward(x).logits));
  const { grads } = tf.variableGrads(() => tf.mean(softmaxEntropy(model.forward(x).logits)) as tf.Scalar, vars);
  const before0 = vars.map(values);
  const allBefore = [...model.params.values()].map(values);
  const tent = await createTent(model, ctx);
  const r = await tent.step(x);
  assert.ok(maxAbsDiff(values(r.probs), expectedProbs) < 1e-6);
  vars.forEach((v, k) => {
    const g = values(grads[v.name]!);
    const delta = values(v).map((p, i) => p - before0[k]![i]!);
    delta.forEach((d, i) => {
      if (Math.abs(g[i]!) > 1e-5) assert.ok(Math.abs(d + 1e-3 * Math.sign(g[i]!)) < 2e-6, `${v.name}[${i}] moved ${d}, grad ${g[i]}`);
    });
  });
  assert.equal(model.params.get('conv1.weight')!.dataSync()[0], allBefore[0]![0], 'conv weights untouched');
  r.probs.dispose();
  assert.equal(await tensorGrowth(async () => (await tent.step(x)).probs.dispose()), 0);
  tent.reset();
  assert.deepEqual([...model.params.values()].map(values), allBefore);
  tent.dispose();
});

test('Tent on a segmenter: per-pixel entropy, [N, H, W, C] probabilities', async () => {
  const model = createTinyModel({ task: 'segmentation', numClasses: 3, seed: 6 });
  const tent = await createTent(model, ctx);
  const x = randomImages(2, 8, 7);
  const r = await tent.step(x);
  assert.deepEqual(r.probs.shape, [2, 4, 4, 3]);
  const r2 = await tent.step(x);
  assert.ok(r2.stats.loss! < r.stats.loss!, `entropy falls on repeated data: ${r.stats.loss} -> ${r2.stats.loss}`);
  tent.dispose();
});
