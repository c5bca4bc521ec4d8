import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { augmentViews, colourJitter, colourOp, COTTA_AUG, type CottaAugConfig, type SampleParams } from './augment.ts';
import { Rng } from '../../util/rng.ts';
import { randomImages } from '../testing/tiny-model.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

const IDENTITY: CottaAugConfig = {
  kind: 'cotta', brightness: [1, 1], contrast: [1, 1], saturation: [1, 1], hue: [0, 0], gamma: [1, 1],
  rotateDeg: 0, translate: 0, scale: [1, 1], padFraction: 0.5, blurSigma: [1e-3, 1e-3], hflipP: 0, noiseStd: 0,
};

test('the CoTTA pipeline with degenerate ranges is the identity', () => {
  const x = randomImages(3, 8, 1);
  const y = augmentViews(x, 2, IDENTITY, new Rng(1), false);
  assert.deepEqual(y.shape, [6, 8, 8, 3]);
  assert.ok(maxAbsDiff(values(y), [...values(x), ...values(x)]) < 1e-5);
});

test('single colour ops match torchvision formulas: brightness, gamma, hue rotation, saturation', () => {
  const red = tf.tensor4d([1, 0, 0, 0.5, 0.25, 0.75], [1, 1, 2, 3]);
  const hue = augmentViews(red, 1, { ...IDENTITY, hue: [1 / 3, 1 / 3] }, new Rng(0), true);
  assert.ok(maxAbsDiff(values(hue).slice(0, 3), [0, 1, 0]) < 1e-5, `red shifted by 1/3 is green: ${values(hue)}`);
  // (0.5, 0.25, 0.75): h = 0.75, s = 2/3, v = 0.75; +1/3 -> h = 1/12: r = v, g = v(1 - s(1 - f)) with f = 0.5, b = v(1 - s)
  assert.ok(maxAbsDiff(values(hue).slice(3), [0.75, 0.5, 0.25]) < 1e-5, `${values(hue).slice(3)}`);
  const bright = augmentViews(red, 1, { ...IDENTITY, brightness: [0.5, 0.5] }, new Rng(0), true);
  assert.ok(maxAbsDiff(values(bright), [0.5, 0, 0, 0.25, 0.125, 0.375]) < 1e-6);
  const gamma = augmentViews(red, 1, { ...IDENTITY, gamma: [2, 2] }, new Rng(0), true);
  assert.ok(maxAbsDiff(values(gamma), [1, 0, 0, 0.25, 0.0625, 0.5625]) < 1e-6);
  const gray = augmentViews(red, 1, { ...IDENTITY, saturation: [0, 0] }, new Rng(0), true);
  const g1 = 0.2989, g2 = 0.2989 * 0.5 + 0.587 * 0.25 + 0.114 * 0.75;
  assert.ok(maxAbsDiff(values(gray), [g1, g1, g1, g2, g2, g2]) < 1e-6);
});

test('scale zooms about the image centre (inverse map checked on a ramp)', () => {
  const w = 8;
  const ramp = tf.tensor4d(Array.from({ length: w * w * 3 }, (_, i) => Math.floor(i / 3) % w / (w - 1)), [1, w, w, 3]);
  const zoom = augmentViews(ramp, 1, { ...IDENTITY, scale: [2, 2] }, new Rng(0), true);
  const row = values(zoom).filter((_, i) => i % 3 === 0).slice(3 * w, 4 * w);
  const c = (w - 1) / 2;
  const expected = Array.from({ length: w }, (_, j) => (c + (j - c) / 2) / (w - 1));
  assert.ok(maxAbsDiff(row, expected) < 1e-5, `${row} vs ${expected}`);
});

test('full CoTTA views: seeded, in [0, 1], one draw per view with perBatch, distinct draws per image otherwise', () => {
  const x = randomImages(4, 8, 2);
  const a = augmentViews(x, 3, COTTA_AUG, new Rng(5), true);
  const b = augmentViews(x, 3, COTTA_AUG, new Rng(5), true);
  assert.deepEqual(values(a), values(b));
  const v = values(a);
  assert.ok(Math.min(...v) >= 0 && Math.max(...v) <= 1);
  assert.ok(maxAbsDiff(v.slice(0, 4 * 192), v.slice(4 * 192, 8 * 192)) > 1e-3, 'views differ');
  // Same image content for all batch items -> with one draw per view all items are equal up to the per-pixel noise.
  const same = tf.tile(randomImages(1, 8, 3), [4, 1, 1, 1]) as tf.Tensor4D;
  const shared = values(augmentViews(same, 1, { ...COTTA_AUG, noiseStd: 0 }, new Rng(6), true));
  assert.ok(maxAbsDiff(shared.slice(0, 192), shared.slice(192, 384)) < 1e-6, `${maxAbsDiff(shared.slice(0, 192), shared.slice(192, 384))}`);
  const separate = values(augmentViews(same, 1, { ...COTTA_AUG, noiseStd: 0 }, new Rng(6), false));
  assert.ok(maxAbsDiff(separate.slice(0, 192), separate.slice(192, 384)) > 1e-3);
  const n = tf.memory().numTensors;
  augmentViews(x, 2, COTTA_AUG, new Rng(7), false).dispose();
  assert.equal(tf.memory().numTensors, n);
});

test('crop-flip: pad 0 and flip probability 1 is an exact horizontal mirror', () => {
  const x = randomImages(2, 6, 4);
  const y = augmentViews(x, 1, { kind: 'crop-flip', pad: 0, hflipP: 1 }, new Rng(0), false);
  assert.ok(maxAbsDiff(values(y), values(tf.reverse(x, 2))) < 1e-7, `${maxAbsDiff(values(y), values(tf.reverse(x, 2)))}`);
  const shifted = augmentViews(x, 4, { kind: 'crop-flip', pad: 2, hflipP: 0 }, new Rng(1), false);
  assert.deepEqual(shifted.shape, [8, 6, 6, 3]);
});

test('per-sample colour jitter: each image gets its own ops in its own order, as if augmented alone', () => {
  const rng = new Rng(3);
  const n = 7;
  const x = randomImages(n, 6, 4);
  const params: SampleParams[] = Array.from({ length: n }, () => ({
    factors: [rng.uniform(0.6, 1.4), rng.uniform(0.7, 1.3), rng.uniform(0.5, 1.5), rng.uniform(-0.06, 0.06), rng.uniform(0.7, 1.3)],
    order: rng.shuffle([0, 1, 2, 3, 4]),
    angle: 0, tx: 0, ty: 0, scale: 1, sigma: 1e-3, flip: false,
  }));
  const batch = values(colourJitter(x, params));
  const alone = params.flatMap((p, i) => {
    let xi = tf.slice(x, [i, 0, 0, 0], [1, 6, 6, 3]) as tf.Tensor4D;
    for (const op of p.order) xi = colourOp(op, xi, tf.scalar(p.factors[op]!));
    return values(xi);
  });
  assert.ok(maxAbsDiff(batch, alone) < 1e-6, `max diff ${maxAbsDiff(batch, alone)}`);
  assert.ok(new Set(params.map((p) => p.order[0])).size > 1, 'the samples start with different ops');
});
