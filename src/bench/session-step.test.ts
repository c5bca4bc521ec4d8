/** The stepping API the benchmark runs on: TTASession.setMethod / step / resetMethod (Node, cpu backend). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TTASession } from '../runtime/session.ts';
import { createBenchMethod } from './methods.ts';
import { Rng } from '../util/rng.ts';
import type { ImageBatch } from '../runtime/images.ts';

const ONNX = resolve(import.meta.dirname, '../../models/fixtures/resnet-tiny.onnx');
const SIZE = 16;

function batch(n: number, seed: number): ImageBatch {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: n * SIZE * SIZE * 3 }, () => rng.int(0, 256)), shape: [n, SIZE, SIZE, 3] };
}

test('setMethod starts every method from the source values; step predicts, adapts and does not leak', async () => {
  const s = new TTASession();
  await s.init('cpu');
  await s.loadModel({ format: 'onnx', bytes: new Uint8Array(readFileSync(ONNX)) }, { name: 'resnet-tiny', task: 'classification', inputShape: [SIZE, SIZE, 3] });
  const ctx = { seed: 1, dataset: 'cifar10' as const };
  const x = batch(4, 1);
  const before = await s.predict(x);

  await s.setMethod((m) => createBenchMethod('source', m, ctx));
  const src = await s.step(x);
  assert.deepEqual(Array.from(src.labels), Array.from(before.labels));
  // Entropy of the returned prediction, from the same probabilities predict() gives.
  const h0 = -Array.from(before.probs.subarray(0, before.shape[1])).reduce((acc, p) => acc + p * Math.log(p + 1e-12), 0);
  assert.ok(Math.abs(src.entropy![0]! - h0) < 1e-5, `entropy ${src.entropy![0]} vs ${h0}`);

  await s.setMethod((m) => createBenchMethod('tent', m, ctx, { lr: 0.05 }));
  await s.step(batch(4, 2));
  const tensors = s.memory().numTensors;
  for (let i = 3; i < 6; i++) await s.step(batch(4, i));
  assert.equal(s.memory().numTensors, tensors, 'tensor count grows across tent steps');
  const adapted = await s.predict(x);
  assert.notDeepEqual(Array.from(adapted.probs), Array.from(before.probs), 'tent changed the model');

  // A new method (and a reset) starts from the source model bit for bit.
  await s.setMethod((m) => createBenchMethod('source', m, ctx));
  assert.deepEqual(Array.from((await s.predict(x)).probs), Array.from(before.probs));
  await s.setMethod((m) => createBenchMethod('tent', m, ctx, { lr: 0.05 }));
  await s.step(batch(4, 7));
  s.resetMethod();
  await s.setMethod((m) => createBenchMethod('source', m, ctx));
  assert.deepEqual(Array.from((await s.predict(x)).probs), Array.from(before.probs));
  s.dispose();
});

test('step before setMethod is a clear error', async () => {
  const s = new TTASession();
  await s.init('cpu');
  await assert.rejects(s.step(batch(1, 1)), /no model loaded|no method set/);
  s.dispose();
});
