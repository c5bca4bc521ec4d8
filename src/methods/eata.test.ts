import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createEata, eataSelect } from './eata.ts';
import { computeFisher, tensorSource } from './shared/fisher.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 0, dataset: 'cifar10' as const };

test('EATA filters and weights on a crafted batch', () => {
  const e0 = 0.4 * Math.log(4); // 0.5545
  const entropy = tf.tensor1d([0.1, 0.6, 0.3, 0.5]);
  const probs = tf.tensor2d([[0.9, 0.05, 0.03, 0.02], [0.4, 0.3, 0.2, 0.1], [0.1, 0.8, 0.05, 0.05], [0.6, 0.3, 0.05, 0.05]]);
  const first = eataSelect(entropy, probs, undefined, e0, 0.4);
  assert.deepEqual(values(first.reliable), [1, 0, 1, 1]);
  assert.deepEqual(values(first.selected), [1, 0, 1, 1], 'no moving average yet: the reliability filter alone');
  assert.ok(maxAbsDiff(values(first.weights), [0.1, 0.6, 0.3, 0.5].map((h) => 1 / Math.exp(h - e0))) < 1e-6);
  // m = e_0: cos = p_0 / ||p||: 0.9/0.9021 = 0.998, 0.1/0.8093 = 0.124, 0.6/0.6745 = 0.890.
  const m = tf.tensor1d([1, 0, 0, 0]);
  const second = eataSelect(entropy, probs, m, e0, 0.4);
  assert.deepEqual(values(second.selected), [0, 0, 1, 0]);
});

test('ETA: nothing reliable -> no update; everything selected -> parameters move; no leaks', async () => {
  const model = createTinyModel({ seed: 8 });
  const x = randomImages(6, 8, 2);
  const before0 = [...model.params.values()].map(values);
  const strict = await createEata('eta')(model, ctx, { eMarginCoef: 1e-6 });
  const r = await strict.step(x);
  assert.equal(r.stats.selected, 0);
  assert.deepEqual([...model.params.values()].map(values), before0);
  strict.dispose();
  const loose = await createEata('eta')(model, ctx, { eMarginCoef: 10, dMargin: 2 });
  const r2 = await loose.step(x);
  assert.equal(r2.stats.selected, 6);
  assert.notDeepEqual(values(model.norms[0]!.weight), before0[1]);
  assert.equal(await tensorGrowth(async () => (await loose.step(x)).probs.dispose()), 0);
  loose.dispose();
  assert.deepEqual([...model.params.values()].map(values), before0, 'dispose leaves the source model');
});

test('EATA: the loss adds alpha * sum F (theta - theta0)^2 with the Fisher of the source provider', async () => {
  const x = randomImages(6, 8, 2);
  const src = randomImages(8, 8, 11);
  await assert.rejects(createEata('eata')(createTinyModel(), ctx), /needs ctx.sourceData/);
  const alpha = 1000;
  const common = { eMarginCoef: 10, dMargin: 2, fisherSize: 8, fisherBatchSize: 4, optimizer: 'sgd', lr: 0.05, momentum: 0 };
  const modelA = createTinyModel({ seed: 8 });
  const modelB = createTinyModel({ seed: 8 });
  const anchored = await createEata('eata')(modelA, { ...ctx, sourceData: tensorSource(src) }, { ...common, fisherAlpha: alpha });
  const free = await createEata('eata')(modelB, { ...ctx, sourceData: tensorSource(src) }, { ...common, fisherAlpha: 0 });
  assert.equal(anchored.state().fisherBatches, 2);
  const reference = createTinyModel({ seed: 8 });
  reference.setNormMode({ kind: 'batch' });
  const f = await computeFisher(reference, reference.parameters('norm-affine'), tensorSource(src), 4, 8);
  const a1 = await anchored.step(x);
  const b1 = await free.step(x);
  assert.ok(Math.abs(a1.stats.loss! - b1.stats.loss!) < 1e-6, 'at the anchor the penalty is 0');
  const ewc = modelA.parameters('norm-affine').reduce((s, v, i) => {
    const fi = values(f.fisher[i]!);
    const p0 = values(f.anchor[i]!);
    return s + values(v).reduce((t, p, j) => t + fi[j]! * (p - p0[j]!) ** 2, 0);
  }, 0);
  assert.ok(ewc > 0);
  const a2 = await anchored.step(x);
  const b2 = await free.step(x);
  assert.ok(Math.abs(a2.stats.loss! - b2.stats.loss! - alpha * ewc) < 1e-4 * alpha * ewc + 1e-7, `${a2.stats.loss! - b2.stats.loss!} vs ${alpha * ewc}`);
  [a1, b1, a2, b2].forEach((r) => r.probs.dispose());
  f.dispose();
  anchored.dispose();
  free.dispose();
});
