import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cached } from './data.ts';
import type { ImageSource } from '../stream/source.ts';

/** 1x1 images whose pixel is (i, i, i); counts which indices were generated. */
function counting(calls: number[][]): ImageSource {
  return {
    name: 'src', size: 10, height: 1, width: 1,
    labels: async () => Int32Array.from({ length: 10 }, (_, i) => i % 3),
    async get(indices) {
      calls.push([...indices]);
      return { images: Uint8Array.from(indices.flatMap((i) => [i, i, i])), labels: Int32Array.from(indices, (i) => i % 3) };
    },
  };
}

test('cached source: same items, each generated once while the budget lasts', async () => {
  const calls: number[][] = [];
  const budget = { bytes: (3 + 4) * 4 };
  const src = cached(counting(calls), budget);
  const a = await src.get([2, 5, 2]);
  assert.deepEqual(Array.from(a.images), [2, 2, 2, 5, 5, 5, 2, 2, 2]);
  assert.deepEqual(Array.from(a.labels), [2, 2, 2]);
  const b = await src.get([5, 6, 7, 8]);
  assert.deepEqual(Array.from(b.images), [5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8]);
  // 2 and 5 were kept; the budget (4 images of 3 bytes + one int32 label) then holds 6 and 7 but not 8.
  assert.deepEqual(calls, [[2, 5], [6, 7, 8]]);
  await src.get([8, 7]);
  assert.deepEqual(calls.at(-1), [8]);
  assert.equal(budget.bytes, 0);
});

test('cached source keeps per-pixel labels (segmentation) with their image', async () => {
  const src: ImageSource = {
    name: 'seg', size: 3, height: 1, width: 2,
    labels: async () => new Int32Array(3),
    async get(indices) {
      return { images: Uint8Array.from(indices.flatMap((i) => [i, i, i, i, i, i])), labels: Int32Array.from(indices.flatMap((i) => [i, 10 + i])) };
    },
  };
  const c = cached(src, { bytes: 1 << 20 });
  await c.get([1]);
  const both = await c.get([2, 1]);
  assert.deepEqual(Array.from(both.labels), [2, 12, 1, 11]);
  assert.deepEqual(Array.from(both.images), [2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
});
