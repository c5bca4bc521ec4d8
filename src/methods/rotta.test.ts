import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRotta, timelinessWeights } from './rotta.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff, tensorGrowth } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 1, dataset: 'cifar10' as const };

test('timeliness weights exp(-a) / (1 + exp(-a))', () => {
  assert.deepEqual(timelinessWeights([0]), [0.5]);
  assert.ok(Math.abs(timelinessWeights([1])[0]! - 0.2689414213699951) < 1e-15);
});

test('RoTTA: teacher predicts in eval mode, memory fills, one update per updateFrequency samples, EMA teacher', async () => {
  const model = createTinyModel({ seed: 2 });
  const reference = createTinyModel({ seed: 2 });
  const x = randomImages(6, 8, 3);
  const rotta = await createRotta(model, ctx, { memorySize: 8, updateFrequency: 4 });
  const r1 = await rotta.step(x);
  assert.ok(maxAbsDiff(values(r1.probs), values(tf.softmax(reference.forward(x).logits))) < 1e-6, 'first prediction = source in eval mode');
  assert.equal(r1.stats.updates, 1, '6 samples, update every 4');
  const perClass = rotta.state().perClass as number[];
  assert.ok(perClass.every((n) => n <= 2) && r1.stats.memory === perClass.reduce((a, b) => a + b, 0), `quota 8 / 4 classes: ${perClass}`);
  assert.ok(Number.isFinite(r1.stats.loss));
  const srcAffine = reference.parameters('norm-affine').map(values);
  const moved = model.parameters('norm-affine').map(values);
  assert.notDeepEqual(moved, srcAffine);
  assert.notDeepEqual(values(model.norms[0]!.runningMean), values(reference.norms[0]!.runningMean), 'robust BN statistics moved');
  const r2 = await rotta.step(x);
  assert.equal(r2.stats.updates, 3, '12 samples: updates at 4, 8, 12');
  assert.ok(r2.stats.memory! <= 8, 'capacity');
  const teacherNow = values(r2.probs);
  assert.ok(maxAbsDiff(teacherNow, values(r1.probs)) > 0, 'the EMA teacher moved');
  assert.equal(await tensorGrowth(async () => (await rotta.step(x)).probs.dispose(), 2), 0);
  rotta.reset();
  assert.deepEqual(model.parameters('norm-affine').map(values), srcAffine);
  assert.equal(rotta.state().memory, 0);
  rotta.dispose();
  assert.throws(() => createRotta(createTinyModel({ task: 'segmentation' }), ctx), /classification model/);
});
