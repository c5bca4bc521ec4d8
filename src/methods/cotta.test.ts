import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { averagedViewLogits, createCotta } from './cotta.ts';
import { COTTA_AUG } from './shared/augment.ts';
import { Rng } from '../util/rng.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 5, dataset: 'cifar10' as const };
const f = Math.fround;

test('teacher is exactly the EMA of the updated student; restore happens after it (p = 1 gives the source back bit-exactly)', async () => {
  const model = createTinyModel({ seed: 1 });
  const x = randomImages(4, 8, 1);
  const src = [...model.params.values()].map(values);
  const cotta = await createCotta(model, ctx, { restoreProb: 0, anchorThreshold: 0 });
  (await cotta.step(x)).probs.dispose();
  const student = [...model.params.values()].map(values);
  assert.notDeepEqual(student, src);
  // The teacher's prediction after the step must come from EMA weights: compare with a hand-built EMA model.
  const handTeacher = createTinyModel({ seed: 1 });
  handTeacher.setNormMode({ kind: 'batch' });
  [...handTeacher.params.values()].forEach((v, k) => v.assign(tf.tensor(src[k]!.map((s, i) => f(f(s * f(0.999)) + f(student[k]![i]! * f(1 - 0.999)))), v.shape)));
  const expected = values(tf.softmax(handTeacher.forward(x).logits));
  const r = await cotta.step(x);
  assert.deepEqual(values(r.probs), expected, 'teacher prediction = forward of the exact EMA weights');
  cotta.dispose();
  const full = await createCotta(model, ctx, { restoreProb: 1, anchorThreshold: 0 });
  (await full.step(x)).probs.dispose();
  assert.deepEqual([...model.params.values()].map(values), src, 'p = 1 restores every element');
  full.dispose();
});

test('stochastic restore rate ~ p over the model elements', async () => {
  const model = createTinyModel({ seed: 2, width: 12 });
  const x = randomImages(4, 8, 2);
  const src = [...model.params.values()].flatMap(values);
  const p = 0.3;
  const cotta = await createCotta(model, ctx, { restoreProb: p, anchorThreshold: 0 });
  (await cotta.step(x)).probs.dispose();
  const now = [...model.params.values()].flatMap(values);
  const n = src.length;
  const same = now.filter((v, i) => v === src[i]).length;
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(same - n * p) < 4 * sd, `${same} of ${n} at source, expected ${n * p} +- ${4 * sd}`);
  cotta.dispose();
});

test('anchor confidence gates the augmentation average; the target is the softmax of the mean view logits', async () => {
  const model = createTinyModel({ seed: 3 });
  const x = randomImages(4, 8, 3);
  const never = await createCotta(model, ctx, { anchorThreshold: 0 });
  const r0 = await never.step(x);
  assert.equal(r0.stats.augmented, 0);
  const reference = createTinyModel({ seed: 3 });
  reference.setNormMode({ kind: 'batch' });
  assert.ok(maxAbsDiff(values(r0.probs), values(tf.softmax(reference.forward(x).logits))) < 1e-6, 'clean teacher = source on the first batch');
  never.dispose();
  const always = await createCotta(model, ctx, { anchorThreshold: 1.01, views: 4 });
  const r1 = await always.step(x);
  assert.equal(r1.stats.augmented, 1);
  assert.ok(r1.stats.anchorConfidence! > 0 && r1.stats.anchorConfidence! < 1);
  const mean = averagedViewLogits(reference, x, 4, 1, COTTA_AUG, new Rng(ctx.seed).fork('cotta'));
  assert.ok(maxAbsDiff(values(r1.probs), values(tf.softmax(mean))) < 1e-6);
  assert.equal(await tensorGrowth(async () => (await always.step(x)).probs.dispose(), 2), 0);
  always.reset();
  assert.deepEqual([...model.params.values()].map(values), [...reference.params.values()].map(values), 'reset = source');
  always.dispose();
});

test('CoTTA on a segmenter: per-pixel soft cross-entropy, teacher probabilities [N, H, W, C]', async () => {
  const model = createTinyModel({ task: 'segmentation', numClasses: 3, seed: 4 });
  const cotta = await createCotta(model, ctx, { anchorThreshold: 1.01, views: 2 });
  const r = await cotta.step(randomImages(2, 8, 4));
  assert.deepEqual(r.probs.shape, [2, 4, 4, 3]);
  assert.ok(Number.isFinite(r.stats.loss));
  cotta.dispose();
});
