import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { METHODS, createMethod, methodInfo, tensorSource } from './index.ts';
import { createLame } from './lame.ts';
import { withPeriodicReset } from './reset.ts';
import { createTent } from './tent.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { SMALL_SETTINGS } from './testing/small-settings.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 3, dataset: 'cifar10' as const };

test('registry lists every method with published per-dataset defaults', () => {
  assert.deepEqual([...METHODS.keys()], ['source', 'bn', 'bn-alpha', 'bn-ema', 'tent', 'eata', 'eta', 'cotta', 'rotta', 'stamp', 'sar', 'lame']);
  assert.equal(methodInfo('tent').defaults(ctx).optimizer, 'adam');
  assert.equal(methodInfo('tent').defaults({ ...ctx, dataset: 'imagenet' }).lr, 0.00025);
  assert.equal(methodInfo('cotta').defaults(ctx).anchorThreshold, 0.92);
  assert.equal(methodInfo('cotta').defaults({ ...ctx, dataset: 'cifar100' }).anchorThreshold, 0.72);
  assert.equal(methodInfo('cotta').defaults({ ...ctx, dataset: 'imagenet' }).nesterov, true);
  assert.equal(methodInfo('eata').defaults({ ...ctx, dataset: 'imagenet' }).fisherAlpha, 2000);
  assert.equal(methodInfo('eata').defaults(ctx).dMargin, 0.4);
  assert.equal(methodInfo('stamp').defaults({ ...ctx, dataset: 'cifar100' }).alpha, 0.9);
  assert.equal(methodInfo('rotta').defaults(ctx).nu, 0.001);
  assert.throws(() => methodInfo('tnet'), /unknown TTA method 'tnet'/);
});

test('registry reports the published batch sizes per data set', () => {
  const sizes = (dataset: 'cifar10' | 'cifar100' | 'imagenet' | 'camvid') => Object.fromEntries([...METHODS.values()].map((m) => [m.name, m.defaultBatchSize({ dataset })]));
  const cifar = { source: 200, bn: 200, 'bn-alpha': 200, 'bn-ema': 200, tent: 200, eata: 200, eta: 200, cotta: 200, rotta: 64, stamp: 64, sar: 200, lame: 200 };
  assert.deepEqual(sizes('cifar10'), cifar);
  assert.deepEqual(sizes('cifar100'), cifar);
  for (const dataset of ['imagenet', 'camvid'] as const) assert.deepEqual(Object.values(sizes(dataset)), Array(12).fill(64), dataset);
});

test('every method runs a few steps on the tiny model without leaking tensors, and reset gives the source back', async () => {
  for (const name of METHODS.keys()) {
    const model = createTinyModel({ seed: 4 });
    const src = [...model.params.values(), ...model.norms.flatMap((n) => [n.runningMean, n.runningVar])].map(values);
    const x = randomImages(8, 8, 5);
    const method = await createMethod(name, model, { ...ctx, sourceData: tensorSource(randomImages(8, 8, 6)) }, { overrides: SMALL_SETTINGS[name] });
    const growth = await tensorGrowth(async () => {
      const r = await method.step(x);
      assert.deepEqual(r.probs.shape, [8, 4], name);
      const sums = tf.tidy(() => values(tf.sum(r.probs, 1)));
      assert.ok(maxAbsDiff(sums, new Array(8).fill(1)) < 1e-5, `${name}: rows sum to 1`);
      r.probs.dispose();
      r.outlierScore?.dispose();
    }, 2);
    assert.equal(growth, 0, `${name} leaks ${growth} tensors per step`);
    method.reset();
    const now = [...model.params.values(), ...model.norms.flatMap((n) => [n.runningMean, n.runningVar])].map(values);
    assert.deepEqual(now, src, `${name}: reset restores parameters and statistics bit-exactly`);
    const before0 = tf.memory().numTensors;
    method.dispose();
    assert.ok(tf.memory().numTensors < before0 || ['source', 'lame', 'bn'].includes(name), `${name}: dispose frees its tensors`);
    model.dispose();
  }
});

test('segmentation is refused by classification-only methods', async () => {
  const seg = createTinyModel({ task: 'segmentation', numClasses: 3 });
  await assert.rejects(createMethod('sar', seg, ctx), /not available for segmentation/);
  for (const name of ['source', 'bn', 'tent', 'cotta']) (await createMethod(name, seg, ctx, { overrides: name === 'cotta' ? { views: 2 } : {} })).dispose();
});

test('periodic reset wrapper restores the source bit-exactly every k steps', async () => {
  const model = createTinyModel({ seed: 6 });
  const src = [...model.params.values()].map(values);
  const x = randomImages(6, 8, 7);
  const m = withPeriodicReset(await createTent(model, ctx, { lr: 0.05 }), 2);
  const trace: number[][][] = [];
  for (let i = 0; i < 3; i++) {
    (await m.step(x)).probs.dispose();
    trace.push([...model.params.values()].map(values));
  }
  // Step 3 starts from the source again, so it reproduces step 1 exactly.
  assert.deepEqual(trace[2], trace[0]);
  assert.notDeepEqual(trace[1], trace[0]);
  assert.equal(m.state().periodicResets, 1);
  m.reset();
  assert.deepEqual([...model.params.values()].map(values), src);
  assert.throws(() => withPeriodicReset(m, 0), /positive integer/);
  m.dispose();
});

test('LAME output is the Laplacian fixed point over the features; the model is untouched', async () => {
  const model = createTinyModel({ seed: 7 });
  const src = [...model.params.values()].map(values);
  const lame = await createLame(model, ctx, { affinity: 'knn', knn: 2 });
  const x = randomImages(8, 8, 8);
  const r = await lame.step(x);
  const { logits, features } = model.forward(x, { features: true });
  const p = values(tf.softmax(logits));
  assert.ok(maxAbsDiff(values(r.probs), p) > 1e-4, 'adjusted');
  assert.ok(r.stats.iterations! >= 3);
  // fixed point: Y = softmax(log(p + 1e-10) + W Y) with the kNN graph of normalised features
  const { affinity } = await import('./shared/laplacian.ts');
  const w = affinity(tf.div(features!, tf.norm(features!, 2, 1, true)) as tf.Tensor2D, 'knn', 2, false);
  const again = tf.softmax(tf.add(tf.log(tf.add(tf.softmax(logits), 1e-10)), tf.matMul(w, r.probs)));
  assert.ok(maxAbsDiff(values(again), values(r.probs)) < 1e-4);
  assert.deepEqual([...model.params.values()].map(values), src);
  lame.dispose();
});

test('batch size 1 (a protocol setting): every method predicts and adapts on single images', async () => {
  for (const name of METHODS.keys()) {
    const model = createTinyModel({ seed: 4 });
    const method = await createMethod(name, model, { ...ctx, sourceData: tensorSource(randomImages(4, 8, 6)) }, { overrides: SMALL_SETTINGS[name] });
    for (let i = 0; i < 3; i++) {
      const r = await method.step(randomImages(1, 8, 10 + i));
      assert.deepEqual(r.probs.shape, [1, 4], name);
      const p = values(r.probs);
      assert.ok(p.every(Number.isFinite) && Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-5, `${name}: finite probabilities summing to 1`);
      r.probs.dispose();
      r.outlierScore?.dispose();
    }
    method.dispose();
    model.dispose();
  }
});
