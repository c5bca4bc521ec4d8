import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createSar } from './sar.ts';
import { createStamp, stampWeights } from './stamp.ts';
import { probsEntropy } from './shared/entropy.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 2, dataset: 'cifar10' as const };
const snapshotValues = (m: ReturnType<typeof createTinyModel>) => [...m.params.values()].map(values);

test('SAR adapts only norm layers outside the last stage; no reliable sample -> no change', async () => {
  const model = createTinyModel({ seed: 3 });
  const src = snapshotValues(model);
  const x = randomImages(6, 8, 4);
  const none = await createSar(model, ctx, { eMarginCoef: 1e-6, lr: 0.1 });
  const r = await none.step(x);
  assert.equal(r.stats.reliable, 0);
  assert.deepEqual(snapshotValues(model), src);
  none.dispose();
  const sar = await createSar(model, ctx, { eMarginCoef: 10, lr: 0.1, resetConstant: 0 });
  const r2 = await sar.step(x);
  assert.equal(r2.stats.reliable, 6);
  assert.equal(r2.stats.reliableAfterSam, 6);
  assert.notDeepEqual(values(model.norms[0]!.weight), values(createTinyModel({ seed: 3 }).norms[0]!.weight), 'bn1 (stage 0) adapts');
  assert.deepEqual(values(model.norms[1]!.weight), values(createTinyModel({ seed: 3 }).norms[1]!.weight), 'bn2 (last stage) stays');
  assert.equal(await tensorGrowth(async () => (await sar.step(x)).probs.dispose()), 0);
  sar.dispose();
});

test('SAR model recovery: loss EMA below the constant resets to the source bit-exactly', async () => {
  const model = createTinyModel({ seed: 3 });
  const src = snapshotValues(model);
  const sar = await createSar(model, ctx, { eMarginCoef: 10, lr: 0.1, resetConstant: 100 });
  const r = await sar.step(randomImages(6, 8, 4));
  assert.equal(r.stats.reset, 1);
  assert.ok(r.stats.lossEma! > 0 && r.stats.lossEma! < 100);
  assert.deepEqual(snapshotValues(model), src);
  assert.equal(sar.state().resets, 1);
  sar.dispose();
});

test('STAMP self-weighted entropy weights', () => {
  const w = values(stampWeights(tf.tensor1d([0.1, 0.5, 1.0]), 64));
  const e = [0.1, 0.5, 1.0].map((h) => Math.exp(-h));
  const s = e.reduce((a, b) => a + b, 0);
  assert.ok(maxAbsDiff(w, e.map((v) => (64 * v) / s)) < 1e-5);
});

test('STAMP: averaged views, entropy outlier score, admission by entropy and consistency, class-balanced memory', async () => {
  const model = createTinyModel({ seed: 5 });
  const src = snapshotValues(model);
  const x = randomImages(6, 8, 6);
  const strict = await createStamp(model, ctx, { alpha: 1e-6, augViews: 2 });
  const r0 = await strict.step(x);
  assert.equal(r0.stats.admitted, 0);
  assert.deepEqual(snapshotValues(model), src, 'empty memory: no update');
  assert.ok(maxAbsDiff(values(r0.outlierScore!), values(probsEntropy(r0.probs, 1e-5))) < 1e-6, 'outlier score = entropy of the averaged prediction');
  const rowSums = values(tf.sum(r0.probs, 1));
  assert.ok(maxAbsDiff(rowSums, new Array(6).fill(1)) < 1e-5);
  strict.dispose();
  const open = await createStamp(model, ctx, { alpha: 10, augViews: 2, memorySize: 4 });
  const r1 = await open.step(x);
  assert.equal(r1.stats.admitted, 6, 'student = BN-adapted copy on the first batch: all agree');
  assert.equal(r1.stats.memory, 4);
  assert.notDeepEqual(snapshotValues(model), src);
  assert.ok(Math.abs(r1.stats.lr! - 0.1 * (1 + Math.cos(Math.PI / 150)) / 2) < 1e-12, 'cosine schedule after one update');
  assert.equal(await tensorGrowth(async () => {
    const r = await open.step(x);
    r.probs.dispose();
    r.outlierScore!.dispose();
  }, 2), 0);
  open.reset();
  assert.deepEqual(snapshotValues(model), src);
  open.dispose();
});
