import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Simulator } from './simulate.ts';
import { parseCifarBatch } from '../data/cifar.ts';
import { corrupt, corruptionRng } from '../data/corruptions/index.ts';
import { imageFromUint8, imageToUint8 } from '../data/image.ts';

const sample = parseCifarBatch(
  new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../public/samples/cifar10/test_canonical_0-999.bin')).subarray(0, 3073 * 4)),
);

test('simulator output equals the corruption applied image by image with the per-frame generator', async () => {
  const sim = new Simulator();
  const batch = { data: sample.data, shape: [4, 32, 32, 3] as [number, number, number, number] };
  const copy = sample.data.slice();
  const out = await sim.apply(batch, { name: 'gaussian_noise', severity: 5, seed: 9, frame: 2 });
  assert.deepEqual(sample.data, copy, 'input untouched');
  const size = 32 * 32 * 3;
  for (let i = 0; i < 4; i++) {
    const img = imageFromUint8(sample.data.subarray(i * size, (i + 1) * size), 32, 32);
    const want = imageToUint8(corrupt('gaussian_noise', img, 5, { rng: corruptionRng(9, 'gaussian_noise', 5, 2 * 4 + i) }));
    assert.deepEqual(out.data.subarray(i * size, (i + 1) * size), want);
  }
  // A noise of sigma 0.1 moves pixels by ~25 levels on average.
  let diff = 0;
  out.data.forEach((v, i) => (diff += Math.abs(v - sample.data[i]!)));
  const mean = diff / out.data.length;
  assert.ok(mean > 10 && mean < 40, `mean |change| ${mean}`);
  const next = await sim.apply(batch, { name: 'gaussian_noise', severity: 5, seed: 9, frame: 3 });
  assert.notDeepEqual(next.data, out.data, 'a new frame gets new noise');
});

test('simulator rejects bad specs with clear errors', async () => {
  const sim = new Simulator();
  const batch = { data: sample.data.slice(0, 3072), shape: [1, 32, 32, 3] as [number, number, number, number] };
  await assert.rejects(sim.apply(batch, { name: 'rain', severity: 1, seed: 0, frame: 0 }), /unknown corruption 'rain'/);
  await assert.rejects(sim.apply(batch, { name: 'fog', severity: 6, seed: 0, frame: 0 }), /severity must be 1\.\.5, got 6/);
  await assert.rejects(sim.apply(batch, { name: 'frost', severity: 1, seed: 0, frame: 0 }), /frost needs the overlay images/);
});
