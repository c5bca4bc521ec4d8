import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BENCHMARK_CORRUPTIONS } from '../data/corruptions/index.ts';
import { parseCifarBatch } from '../data/cifar.ts';
import { Rng } from '../util/rng.ts';
import { COTTA_IMAGENET_ORDERS, corruptionOrder, cottaImagenetOrder, dirichletOrder, gradualSchedule } from './orders.ts';
import { asOutliers, corruptedSource, memorySource, noiseSource, type ImageSource } from './source.ts';
import { buildStream, type Batch, type Domain } from './stream.ts';

const cifar = parseCifarBatch(new Uint8Array(readFileSync(new URL('../../../shared/data/cifar10-test-lossless/test_canonical_0-999.bin', import.meta.url).pathname)));
const clean = memorySource('clean', cifar);

/** A source that records every get() so tests can see what was loaded when. */
function spy(src: ImageSource, name: string, calls: number[][]): ImageSource {
  return { ...src, name, labels: () => src.labels(), get: (ix) => (calls.push([...ix]), src.get(ix)) };
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** Mean share of the most frequent class in consecutive windows of 64: ~0.2 for i.i.d. CIFAR-10, 1 for single-class batches. */
const dominantShare = (labels: readonly number[]) => {
  let sum = 0;
  let windows = 0;
  for (let i = 0; i + 64 <= labels.length; i += 64, windows++) {
    const counts = new Array(10).fill(0);
    for (const l of labels.slice(i, i + 64)) counts[l]++;
    sum += Math.max(...counts) / 64;
  }
  return sum / windows;
};

test('continual and reset_each_shift: domains in order, batches never straddle a shift, reset flags', async () => {
  const domains: Domain[] = ['a', 'b', 'c'].map((n) => ({ name: n, source: clean }));
  for (const setting of ['continual', 'reset_each_shift'] as const) {
    const s = await buildStream(domains, { setting, batchSize: 64, seed: 1, perDomain: 150 });
    assert.equal(s.length, 450);
    assert.equal(s.numBatches, 9); // 64 + 64 + 22 per domain
    const batches = await collect(s);
    assert.deepEqual(batches.map((b) => b.n), [64, 64, 22, 64, 64, 22, 64, 64, 22]);
    assert.deepEqual(batches.map((b) => b.domainStart), [true, false, false, true, false, false, true, false, false]);
    assert.deepEqual(batches.map((b) => b.reset), batches.map((b) => setting === 'reset_each_shift' && b.domainStart));
    assert.deepEqual(batches.map((b) => b.domain[0]), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    // each domain holds its first 150 images exactly once (shuffled), with their labels and pixels
    for (let d = 0; d < 3; d++) {
      const labels = batches.filter((b) => b.domain[0] === d).flatMap((b) => Array.from(b.labels));
      const counts = new Array(10).fill(0);
      labels.forEach((l) => counts[l]++);
      const expected = new Array(10).fill(0);
      cifar.labels.subarray(0, 150).forEach((l) => expected[l]++);
      assert.deepEqual(counts, expected);
    }
    const b0 = batches[0]!;
    assert.equal(b0.images.length, 64 * 32 * 32 * 3);
    assert.ok(b0.images.every((v) => v >= 0 && v <= 1));
  }
});

test('a batch-size range: sizes drawn per batch within it, seeded, never straddling a shift; bad sizes are refused', async () => {
  const domains: Domain[] = ['a', 'b'].map((n) => ({ name: n, source: clean }));
  const sizes = async (seed: number) => (await collect(await buildStream(domains, { setting: 'continual', batchSize: { min: 1, max: 64 }, seed, perDomain: 500 }))).map((b) => [b.n, b.domain[0]!, b.domain[b.n - 1]!]);
  const a = await sizes(3);
  assert.deepEqual(await sizes(3), a, 'same seed, same sizes');
  assert.notDeepEqual(await sizes(4), a);
  assert.equal(a.reduce((t, [n]) => t + n!, 0), 1000);
  assert.ok(a.every(([n, first, last]) => n! >= 1 && n! <= 64 && first === last));
  const inner = a.filter((_, i) => i + 1 < a.length && a[i + 1]![1] === a[i]![1]).map(([n]) => n!);
  assert.ok(Math.min(...inner) <= 8 && Math.max(...inner) >= 56, `sizes spread over the range: ${inner}`);
  for (const bad of [0, 2.5, { min: 0, max: 4 }, { min: 5, max: 4 }]) {
    await assert.rejects(buildStream(domains, { setting: 'continual', batchSize: bad, seed: 1 }), /batch size must be a positive integer or a range min <= max/);
  }
});

test('batch size 1 and the same seed give the same stream; pixels match the source', async () => {
  const s1 = await collect(await buildStream([{ name: 'x', source: clean }], { setting: 'continual', batchSize: 1, seed: 3, perDomain: 20 }));
  const s2 = await collect(await buildStream([{ name: 'x', source: clean }], { setting: 'continual', batchSize: 1, seed: 3, perDomain: 20 }));
  assert.equal(s1.length, 20);
  assert.deepEqual(s1.map((b) => b.labels[0]), s2.map((b) => b.labels[0]));
  // find each batch's image among the 20 clean ones by pixels: a permutation with matching labels
  const seen = new Set<number>();
  for (const b of s1) {
    const u8 = Uint8Array.from(b.images, (v) => Math.round(v * 255));
    const i = Array.from({ length: 20 }, (_, k) => k).find((k) => cifar.data.subarray(k * 3072, (k + 1) * 3072).every((v, j) => v === u8[j]));
    assert.ok(i !== undefined && !seen.has(i));
    seen.add(i);
    assert.equal(b.labels[0], cifar.labels[i]);
  }
  const other = await collect(await buildStream([{ name: 'x', source: clean }], { setting: 'continual', batchSize: 1, seed: 4, perDomain: 20 }));
  assert.notDeepEqual(other.map((b) => b.labels[0]), s1.map((b) => b.labels[0]));
});

test('mixed_domains interleaves all domains in one pool', async () => {
  const domains: Domain[] = [0, 1, 2, 3].map((d) => ({ name: `d${d}`, source: clean }));
  const batches = await collect(await buildStream(domains, { setting: 'mixed_domains', batchSize: 50, seed: 2, perDomain: 100 }));
  assert.equal(batches.length, 8);
  const doms = batches.flatMap((b) => Array.from(b.domain));
  for (let d = 0; d < 4; d++) assert.equal(doms.filter((x) => x === d).length, 100);
  // the first batch already holds several domains; only the first batch is a "domain start"
  assert.ok(new Set(batches[0]!.domain).size >= 3);
  assert.deepEqual(batches.map((b) => b.domainStart), [true, false, false, false, false, false, false, false]);
});

test('loading is lazy: one get per source per batch, prefetching one batch ahead', async () => {
  const calls: number[][] = [];
  const s = await buildStream([{ name: 'x', source: spy(clean, 'x', calls) }], { setting: 'continual', batchSize: 10, seed: 0, perDomain: 100 });
  assert.equal(calls.length, 0, 'nothing loaded before iteration');
  const it = s[Symbol.asyncIterator]();
  await it.next();
  assert.ok(calls.length <= 2, `after the first batch: ${calls.length} loads`);
  assert.ok(calls.every((c) => c.length === 10));
  await it.return?.();
});

test('label orders: sorted, Dirichlet(0.1) long runs vs near-i.i.d. shuffle (RoTTA sampler)', async () => {
  const src = clean;
  const labelsOf = async (labelOrder: Parameters<typeof buildStream>[1]['labelOrder']) =>
    (await collect(await buildStream([{ name: 'x', source: src }], { setting: 'continual', batchSize: 1000, seed: 5, labelOrder }))).flatMap((b) => Array.from(b.labels));
  const sorted = await labelsOf('sorted');
  assert.deepEqual(sorted, [...sorted].sort((a, b) => a - b));
  const shuffled = await labelsOf('shuffle');
  const dir01 = await labelsOf({ dirichlet: 0.1 });
  const dir10 = await labelsOf({ dirichlet: 10 });
  assert.deepEqual(await labelsOf('dirichlet'), dir01, "'dirichlet' means concentration 0.1");
  assert.deepEqual([...dir01].sort(), [...shuffled].sort(), 'same multiset of labels');
  const r = { shuffle: dominantShare(shuffled), d01: dominantShare(dir01), d10: dominantShare(dir10) };
  assert.ok(r.shuffle < 0.25, JSON.stringify(r));
  assert.ok(r.d01 > 0.5, JSON.stringify(r));
  assert.ok(r.d10 < 0.3, JSON.stringify(r));
  // dirichletOrder is a permutation and deterministic per seed
  const labels = Int32Array.from(cifar.labels);
  const o = dirichletOrder(labels, 0.1, new Rng(1));
  assert.deepEqual([...o].sort((a, b) => a - b), Array.from(labels, (_, i) => i));
  assert.deepEqual(o, dirichletOrder(labels, 0.1, new Rng(1)));
  assert.throws(() => dirichletOrder(labels, 0, new Rng(1)), /concentration must be > 0/);
});

test('open-set: the configured share of flagged outliers from every outlier source', async () => {
  const noise = noiseSource(500, 32, 32, 9);
  const other = asOutliers(memorySource('other', { ...cifar, n: 50, data: cifar.data.subarray(0, 50 * 3072), labels: cifar.labels.subarray(0, 50) }));
  const s = await buildStream([{ name: 'a', source: clean }, { name: 'b', source: clean }], {
    setting: 'continual', batchSize: 64, seed: 1, perDomain: 300, openSet: { share: 0.25, sources: [noise, other] },
  });
  assert.equal(s.length, 800); // 300 inliers + 100 outliers per domain
  const batches = await collect(s);
  const flags = batches.flatMap((b) => Array.from(b.outlier));
  assert.equal(flags.filter((f) => f === 1).length, 200);
  for (const b of batches) for (let k = 0; k < b.n; k++) assert.equal(b.labels[k]! === -1, b.outlier[k] === 1);
  // outlier sources alternate; noise outliers are uniform noise (mean .5, sd 1/sqrt(12) = .289)
  const outlierImages = batches.flatMap((x) => Array.from({ length: x.n }, (_, k) => k).filter((k) => x.outlier[k] === 1).map((k) => x.images.subarray(k * 3072, (k + 1) * 3072)));
  const sds = outlierImages.map((px) => {
    const m = px.reduce((a, v) => a + v, 0) / px.length;
    return { m, sd: Math.sqrt(px.reduce((a, v) => a + (v - m) ** 2, 0) / px.length) };
  });
  const noisy = sds.filter(({ m, sd }) => Math.abs(m - 0.5) < 0.02 && Math.abs(sd - 0.289) < 0.01).length;
  assert.equal(noisy, 100, `noise-like outliers: ${noisy} of 200`);
  // outliers are spread over the stream, not bunched at one end
  const firstHalf = flags.slice(0, 400).filter((f) => f === 1).length;
  assert.ok(firstHalf > 70 && firstHalf < 130, `outliers in the first half: ${firstHalf}`);
  await assert.rejects(buildStream([{ name: 'a', source: clean }], { setting: 'continual', batchSize: 4, seed: 0, openSet: { share: 1, sources: [noise] } }), /open-set share must be in \[0, 1\)/);
  await assert.rejects(buildStream([{ name: 'a', source: clean }], { setting: 'continual', batchSize: 4, seed: 0, openSet: { share: 0.1, sources: [noiseSource(5, 16, 16, 0)] } }), /source noise is 16x16, the stream is 32x32/);
});

test('orders: CoTTA ImageNet orders, seeded corruption orders, gradual 1->5->1', () => {
  // CORRUPTION.TYPE of qinenergy/cotta imagenet/cfgs/10orders/cotta/cotta0.yaml .. cotta9.yaml
  const published = [
    'brightness pixelate gaussian_noise motion_blur zoom_blur glass_blur impulse_noise jpeg_compression defocus_blur elastic_transform shot_noise frost snow fog contrast',
    'jpeg_compression shot_noise zoom_blur frost contrast fog defocus_blur elastic_transform gaussian_noise brightness glass_blur impulse_noise pixelate snow motion_blur',
    'contrast defocus_blur gaussian_noise shot_noise snow frost glass_blur zoom_blur elastic_transform jpeg_compression pixelate brightness impulse_noise motion_blur fog',
    'shot_noise fog glass_blur pixelate snow elastic_transform brightness impulse_noise defocus_blur frost contrast gaussian_noise motion_blur jpeg_compression zoom_blur',
    'pixelate glass_blur zoom_blur snow fog impulse_noise brightness motion_blur frost jpeg_compression gaussian_noise shot_noise contrast defocus_blur elastic_transform',
    'motion_blur snow fog shot_noise defocus_blur contrast zoom_blur brightness frost elastic_transform glass_blur gaussian_noise pixelate jpeg_compression impulse_noise',
    'frost impulse_noise jpeg_compression contrast zoom_blur glass_blur pixelate snow defocus_blur motion_blur brightness elastic_transform shot_noise fog gaussian_noise',
    'glass_blur zoom_blur impulse_noise fog snow jpeg_compression gaussian_noise frost shot_noise brightness contrast motion_blur pixelate defocus_blur elastic_transform',
    'defocus_blur motion_blur zoom_blur shot_noise gaussian_noise glass_blur jpeg_compression fog contrast pixelate frost snow brightness elastic_transform impulse_noise',
    'contrast gaussian_noise defocus_blur zoom_blur frost glass_blur jpeg_compression fog pixelate elastic_transform shot_noise impulse_noise snow motion_blur brightness',
  ].map((o) => o.split(' '));
  assert.deepEqual(COTTA_IMAGENET_ORDERS, published);
  published.forEach((o, i) => assert.deepEqual(cottaImagenetOrder(i), o, `order ${i}`));
  for (const o of COTTA_IMAGENET_ORDERS) assert.deepEqual([...o].sort(), [...BENCHMARK_CORRUPTIONS].sort());
  assert.throws(() => cottaImagenetOrder(10), /numbered 0\.\.9, got 10/);
  assert.deepEqual(corruptionOrder(), [...BENCHMARK_CORRUPTIONS]);
  assert.deepEqual(corruptionOrder(3), corruptionOrder(3));
  assert.notDeepEqual(corruptionOrder(3), corruptionOrder(4));
  const g = gradualSchedule(['fog', 'snow']);
  assert.deepEqual(g.map((x) => x.severity), [1, 2, 3, 4, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 4, 3, 2, 1]);
  assert.equal(g[9]!.corruption, 'snow');
});

test('a gradual corrupted stream built on the fly: domains follow the schedule', async () => {
  const small = memorySource('c', { ...cifar, n: 8, data: cifar.data.subarray(0, 8 * 3072), labels: cifar.labels.subarray(0, 8) });
  const domains = gradualSchedule(['contrast']).map(({ corruption, severity }) => ({
    name: `${corruption}-${severity}`,
    source: corruptedSource(small, corruption, severity, { seed: 0 }),
  }));
  const s = await buildStream(domains, { setting: 'continual', batchSize: 8, seed: 0, labelOrder: 'dataset' });
  const stds = [];
  for await (const b of s) {
    const m = b.images.reduce((a, v) => a + v, 0) / b.images.length;
    stds.push(Math.sqrt(b.images.reduce((a, v) => a + (v - m) ** 2, 0) / b.images.length));
  }
  assert.deepEqual(s.domains, ['contrast-1', 'contrast-2', 'contrast-3', 'contrast-4', 'contrast-5', 'contrast-4', 'contrast-3', 'contrast-2', 'contrast-1']);
  // contrast shrinks pixel spread as severity rises and restores it on the way down
  for (let k = 1; k < 5; k++) assert.ok(stds[k]! < stds[k - 1]!);
  for (let k = 5; k < 9; k++) assert.ok(stds[k]! > stds[k - 1]!);
  assert.ok(Math.abs(stds[0]! - stds[8]!) < 1e-9);
});
