import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageNode, decodeImageSync } from '../data/decode-node.ts';
import { nodeFileTree } from '../data/files-node.ts';
import { cached, openSetOutliers } from './data.ts';
import type { ImageSource } from '../stream/source.ts';

const SAMPLES = new URL('../../public/samples/', import.meta.url).pathname;

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

test('open-set outliers: noise, the shipped ImageNet sample and seeded crops of the shipped CamVid frames', async () => {
  // 120 px, the CamVid frames' height: a crop is then a full-height 120x120 window of its frame, not resized.
  const sources = await openSetOutliers(nodeFileTree(SAMPLES), decodeImageNode, 120, 120);
  assert.deepEqual(sources.map((s) => s.name), ['noise', 'imagenet-sample', 'camvid-crops']);
  assert.deepEqual(sources.map((s) => s.size), [1000, 48, 1000]);
  for (const s of sources) {
    assert.deepEqual([s.height, s.width], [120, 120]);
    assert.ok((await s.labels()).every((l) => l === -1), `${s.name}: every item is an outlier`);
    const items = await s.get([0, 3]);
    assert.equal(items.images.length, 2 * 120 * 120 * 3);
    assert.deepEqual(Array.from(items.labels), [-1, -1]);
  }
  const frames = readFileSync(join(SAMPLES, 'camvid/frames.txt'), 'utf8').trim().split('\n');
  const crops = sources[2]!;
  const px = 120 * 120 * 3;
  const got = await crops.get([0, 9, 0]);
  assert.deepEqual(got.images.subarray(2 * px), got.images.subarray(0, px), 'crop i is fixed by the seed');
  // Item i is a window of frame i % 8: frames 0 and 1 here.
  [0, 1].forEach((f, k) => {
    const frame = decodeImageSync(new Uint8Array(readFileSync(join(SAMPLES, 'camvid/images', frames[f]!))), frames[f]!);
    assert.deepEqual([frame.height, frame.width], [120, 160]);
    const crop = got.images.subarray(k * px, (k + 1) * px);
    const window = (x0: number) => Uint8Array.from({ length: px }, (_, j) => frame.data[(Math.floor(j / 360) * 160 + x0) * 3 + (j % 360)]!);
    assert.ok(Array.from({ length: 41 }, (_, x0) => x0).some((x0) => window(x0).every((v, j) => v === crop[j])), `item ${[0, 9][k]} is a 120-wide window of ${frames[f]}`);
  });
});
