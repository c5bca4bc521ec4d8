import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { computeFisher, tensorSource } from './fisher.ts';
import { createTinyModel, randomImages } from '../testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

test('Fisher of the classifier bias is the batch mean of (softmax - onehot(argmax)), squared and averaged over batches', async () => {
  const model = createTinyModel({ seed: 3 });
  const images = randomImages(6, 8, 9);
  const bias = model.params.get('head.bias')!;
  const f = await computeFisher(model, [bias], tensorSource(images), 3, 6);
  assert.equal(f.batches, 2);
  const perBatch = [0, 3].map((start) => {
    const logits = model.forward(tf.slice(images, [start, 0, 0, 0], [3, -1, -1, -1])).logits.arraySync() as number[][];
    const g = new Array(4).fill(0);
    for (const row of logits) {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      const label = row.indexOf(m);
      e.forEach((v, c) => (g[c] += (v / s - (c === label ? 1 : 0)) / 3));
    }
    return g;
  });
  const expected = perBatch[0]!.map((g, c) => (g * g + perBatch[1]![c]! ** 2) / 2);
  assert.ok(maxAbsDiff(values(f.fisher[0]!), expected) < 1e-7, `${values(f.fisher[0]!)} vs ${expected}`);
  assert.deepEqual(values(f.anchor[0]!), values(bias));
  f.dispose();
  await assert.rejects(computeFisher(model, [bias], tensorSource(images), 3, 0), /yielded no batches/);
  model.dispose();
});
