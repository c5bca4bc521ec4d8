import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../util/rng.ts';
import { parseCifarBatch } from '../cifar.ts';
import { decodeImageSync } from '../decode-node.ts';
import { loadFrostOverlaysFromDisk } from '../node.ts';
import { imageFromUint8, imageToUint8, makeImage, resizeImage, type RgbImage } from '../image.ts';
import { diskKernel } from './blur.ts';
import { elasticTransform } from './digital.ts';
import {
  ALL_CORRUPTIONS, corrupt, corruptMany, corruptionRng, type CorruptionName, type Severity,
} from './index.ts';
import { decodeJpeg, encodeJpeg } from './jpeg.ts';
import { poisson } from './noise.ts';
import { zoomFactors, PARAM_SETS, type CorruptionParams, type ParamSetName } from './params.ts';
import { motionBlur, raster } from './raster.ts';
import { plasmaFractal } from './weather.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const cifar = parseCifarBatch(new Uint8Array(readFileSync(`${ROOT}../shared/data/cifar10-test-lossless/test_canonical_0-999.bin`)));
const frost = await loadFrostOverlaysFromDisk();
const cleanU8 = (i: number) => cifar.data.slice(i * 3072, (i + 1) * 3072);
const clean = (i: number) => imageFromUint8(cleanU8(i), 32, 32);
const IMAGES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SEV: Severity[] = [1, 2, 3, 4, 5];
const RANDOM: CorruptionName[] = ['gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise', 'glass_blur', 'motion_blur', 'snow', 'frost', 'fog', 'elastic_transform', 'spatter'];
/** A shipped ImageNet validation image, resized to 224x224. */
function photo224(file: string): RgbImage {
  const d = decodeImageSync(new Uint8Array(readFileSync(`${ROOT}public/samples/imagenet/images/${file}`)), file);
  return resizeImage(imageFromUint8(d.data, d.height, d.width), 224, 224);
}

function run(name: CorruptionName, i: number, s: Severity, seed = 0): Uint8Array {
  return imageToUint8(corrupt(name, clean(i), s, { rng: corruptionRng(seed, name, s, i), frost }));
}
const rmse = (a: Uint8Array, b: Uint8Array) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]!) ** 2, 0) / a.length);
/** Mean absolute change of horizontal/vertical gradients: how much the image structure is replaced. */
function gradientChange(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let y = 0; y < 31; y++) {
    for (let x = 0; x < 31; x++) {
      for (let c = 0; c < 3; c++) {
        const p = (y * 32 + x) * 3 + c;
        s += Math.abs(a[p + 3]! - a[p]! - (b[p + 3]! - b[p]!)) + Math.abs(a[p + 96]! - a[p]! - (b[p + 96]! - b[p]!));
      }
    }
  }
  return s / (31 * 31 * 3);
}
const meanOver = (f: (i: number) => number, images = IMAGES) => images.reduce((s, i) => s + f(i), 0) / images.length;

test('every corruption changes the image, keeps its shape, and is deterministic per seed', () => {
  for (const name of ALL_CORRUPTIONS) {
    for (const s of SEV) {
      const img = clean(3);
      const out = corrupt(name, img, s, { rng: corruptionRng(5, name, s, 3), frost });
      assert.equal(out.height, 32);
      assert.equal(out.width, 32);
      assert.ok(out.data instanceof Float32Array && out.data.length === 3072, `${name} ${s} shape/dtype`);
      assert.ok(out.data.every((v) => v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-3), `${name}: 8-bit values in [0, 1]`);
      const a = imageToUint8(out);
      assert.ok(rmse(a, cleanU8(3)) > 0.5, `${name} s${s} changes the image (rmse ${rmse(a, cleanU8(3))})`);
      assert.deepEqual(run(name, 3, s, 5), a, `${name} s${s} same seed, same bytes`);
      assert.deepEqual(img.data, clean(3).data, `${name} leaves its input untouched`);
    }
  }
});

test('random corruptions differ between seeds', () => {
  for (const name of RANDOM) assert.notDeepEqual(run(name, 2, 3, 1), run(name, 2, 3, 2), name);
});

test('distance from the clean image grows with severity (mean over 12 real CIFAR-10 test images)', () => {
  const monotoneRmse: CorruptionName[] = [
    'gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise', 'defocus_blur', 'gaussian_blur', 'zoom_blur',
    'snow', 'fog', 'brightness', 'contrast', 'pixelate', 'jpeg_compression',
  ];
  for (const name of monotoneRmse) {
    const d = SEV.map((s) => meanOver((i) => rmse(run(name, i, s), cleanU8(i))));
    for (let k = 1; k < 5; k++) assert.ok(d[k]! > d[k - 1]!, `${name}: rmse ${d.map((v) => v.toFixed(2)).join(' < ')}`);
  }
  // Motion blur: severities 3 and 4 differ only in kernel length (radius 6 vs 8 at sigma 2, taps beyond 6
  // weigh < 1%), so they tie up to the random angles; the rest grows.
  const mb = SEV.map((s) => meanOver((i) => rmse(run('motion_blur', i, s), cleanU8(i))));
  assert.ok(mb[1]! > mb[0]! && mb[2]! > mb[1]! && mb[4]! > mb[2]! && mb[4]! > mb[3]!, `motion blur ${mb.map((v) => v.toFixed(2)).join(' ')}`);
  // Frost trades image weight for overlay weight (1/.2 .. .75/.45): the image's own structure fades.
  // The overlay and crop are random, so average over more images.
  const many = Array.from({ length: 100 }, (_, i) => i);
  const fr = SEV.map((s) => meanOver((i) => gradientChange(run('frost', i, s), cleanU8(i)), many));
  for (let k = 1; k < 5; k++) assert.ok(fr[k]! > fr[k - 1]!, `frost gradient change ${fr.map((v) => v.toFixed(2)).join(' ')}`);
  // Glass blur: at equal blur sigma, two swap passes move further than one (severities 2->4, 3->5, 1->4).
  const gl = SEV.map((s) => meanOver((i) => rmse(run('glass_blur', i, s), cleanU8(i))));
  assert.ok(gl[3]! > gl[1]! && gl[4]! > gl[2]! && gl[3]! > gl[0]!, `glass blur ${gl.map((v) => v.toFixed(2)).join(' ')}`);
  // Saturate: severities 1-2 desaturate (0.3x, 0.1x), 3-5 saturate more and more.
  const sa = SEV.map((s) => meanOver((i) => rmse(run('saturate', i, s), cleanU8(i))));
  assert.ok(sa[1]! > sa[0]! && sa[3]! > sa[2]! && sa[4]! > sa[3]!, `saturate ${sa.map((v) => v.toFixed(2)).join(' ')}`);
  // Spatter: water drops (1-3) and mud (4-5) each grow.
  const sp = SEV.map((s) => meanOver((i) => rmse(run('spatter', i, s), cleanU8(i))));
  assert.ok(sp[1]! > sp[0]! && sp[2]! > sp[1]! && sp[4]! > sp[3]!, `spatter ${sp.map((v) => v.toFixed(2)).join(' ')}`);
});

test('elastic: the CIFAR parameters shrink the affine jitter with severity while the smooth displacement grows', () => {
  const p = PARAM_SETS.cifar.elastic_transform;
  assert.deepEqual(p.map((t) => +t[2].toFixed(2)), [2.56, 2.24, 1.92, 1.6, 0.96]);
  const disp = SEV.map((s) =>
    meanOver((i) => {
      const [alpha, sigma] = p[s - 1]!;
      const x = { h: 32, w: 32, c: 3, data: clean(i).data };
      const out = elasticTransform(x, alpha, sigma, 0, new Rng(i));
      return rmse(imageToUint8(makeImage(32, 32, out.data)), cleanU8(i));
    }),
  );
  assert.equal(disp[0], 0, 'severity 1 has no elastic displacement');
  for (let k = 1; k < 5; k++) assert.ok(disp[k]! > disp[k - 1]!, `displacement-only rmse ${disp.map((v) => v.toFixed(2)).join(' ')}`);
});

test('contrast and brightness match hand-computed values', () => {
  // Two pixels per channel mean: R mean .5, G mean .3, B mean .6
  const img = makeImage(1, 2, Float32Array.from([0.2, 0.1, 0.6, 0.8, 0.5, 0.6]));
  const c = corrupt('contrast', img, 2, { rng: new Rng(0) }); // c = .5: (x - m) * .5 + m
  const expectC = [0.35, 0.2, 0.6, 0.65, 0.4, 0.6].map((v) => Math.round(v * 255) / 255);
  c.data.forEach((v, k) => assert.ok(Math.abs(v - expectC[k]!) < 1e-6, `contrast ${k}: ${v} vs ${expectC[k]}`));
  // HSV brightness +.05 on (.2, .4, .6): V .6 -> .65 with H and S kept, so RGB scales by .65/.6.
  const b = corrupt('brightness', makeImage(1, 1, Float32Array.from([0.2, 0.4, 0.6])), 1, { rng: new Rng(0) });
  const expectB = [0.2, 0.4, 0.6].map((v) => Math.round(((v * 0.65) / 0.6) * 255) / 255);
  b.data.forEach((v, k) => assert.ok(Math.abs(v - expectB[k]!) < 1e-6, `brightness ${k}: ${v} vs ${expectB[k]}`));
  // V clips at 1: white stays white; a grey pixel (S = 0) just brightens.
  const g = corrupt('brightness', makeImage(1, 2, Float32Array.from([1, 1, 1, 0.5, 0.5, 0.5])), 5, { rng: new Rng(0) });
  assert.deepEqual(Array.from(imageToUint8(g)), [255, 255, 255, 204, 204, 204]);
  // saturate (.1, 0) on (.2, .4, .6): S 2/3 -> 1/15, V .6 kept: min = .6 * (1 - 1/15) = .56
  const s = corrupt('saturate', makeImage(1, 1, Float32Array.from([0.2, 0.4, 0.6])), 2, { rng: new Rng(0) });
  assert.deepEqual(Array.from(imageToUint8(s)), [143, 148, 153]);
});

test('noise statistics match their definitions', () => {
  const grey = makeImage(64, 64, new Float32Array(64 * 64 * 3).fill(0.5));
  const stats = (img: RgbImage, ref = 0.5) => {
    const d = Array.from(img.data, (v) => v - ref);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    return { mean, std: Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length) };
  };
  const g = stats(corrupt('gaussian_noise', grey, 5, { rng: new Rng(1), params: 'cifar' })); // sigma .10
  assert.ok(Math.abs(g.mean) < 0.004 && Math.abs(g.std - 0.1) < 0.004, JSON.stringify(g));
  const sp = stats(corrupt('speckle_noise', grey, 5, { rng: new Rng(1), params: 'cifar' })); // .5 * .2
  assert.ok(Math.abs(sp.std - 0.1) < 0.004, JSON.stringify(sp));
  // shot: Poisson(.5 * 50) / 50 has variance .5 / 50
  const sh = stats(corrupt('shot_noise', grey, 5, { rng: new Rng(1), params: 'cifar' }));
  assert.ok(Math.abs(sh.std - Math.sqrt(0.5 / 50)) < 0.005 && Math.abs(sh.mean) < 0.004, JSON.stringify(sh));
  // impulse: 7% of values flipped, half to 0 and half to 1
  const im = corrupt('impulse_noise', grey, 5, { rng: new Rng(1), params: 'cifar' }).data;
  const ones = im.filter((v) => v === 1).length / im.length;
  const zeros = im.filter((v) => v === 0).length / im.length;
  assert.ok(Math.abs(ones - 0.035) < 0.006 && Math.abs(zeros - 0.035) < 0.006, `salt ${ones} pepper ${zeros}`);
  // Poisson sampler in both regimes (multiplication < 10, PTRS above)
  for (const lambda of [3, 37.5, 250]) {
    const rng = new Rng(9);
    const xs = Array.from({ length: 40000 }, () => poisson(lambda, rng));
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
    assert.ok(Math.abs(m - lambda) < 0.05 * Math.sqrt(lambda) + 0.02 && Math.abs(v / lambda - 1) < 0.04, `lambda ${lambda}: mean ${m} var ${v}`);
    assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0));
  }
});

test('helpers reproduce the reference definitions', () => {
  // numpy.arange(1, stop, step) lengths, checked with numpy 1.24
  assert.deepEqual(PARAM_SETS.cifar.zoom_blur.map(([e, s]) => zoomFactors(e, s).length), [7, 12, 16, 21, 26]);
  assert.deepEqual(PARAM_SETS.imagenet.zoom_blur.map(([e, s]) => zoomFactors(e, s).length), [12, 16, 11, 13, 11]);
  // disk kernel: 17x17, sums to 1, symmetric, radius .3 keeps only the centre before antialiasing
  const { kernel, size } = diskKernel(0.3, 0.4);
  assert.equal(size, 17);
  assert.ok(Math.abs(kernel.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  const c = 8 * 17 + 8;
  // cv2 3x3 Gaussian sigma .4: weights [w, 1, w] / (1 + 2w), w = exp(-1/(2*.16))
  const w = Math.exp(-1 / 0.32);
  assert.ok(Math.abs(kernel[c]! - (1 / (1 + 2 * w)) ** 2) < 1e-6);
  assert.ok(Math.abs(kernel[c + 1]! - w / (1 + 2 * w) ** 2) < 1e-6);
  // ImageMagick motion blur at angle 0: a one-sided streak to the right, weights exp(-i^2 / 2 sigma^2)
  const dot = raster(1, 20, 1);
  dot.data[5] = 1;
  const mb = motionBlur(dot, 3, 1, 0);
  const ks = Array.from({ length: 7 }, (_, i) => Math.exp(-(i * i) / 2));
  const norm = ks.reduce((a, b) => a + b, 0);
  for (let x = 0; x < 20; x++) {
    const expect = x <= 5 && x >= -1 ? ks[5 - x]! / norm : 0;
    assert.ok(Math.abs(mb.data[x]! - expect) < 1e-6, `motion blur x=${x}: ${mb.data[x]} vs ${expect}`);
  }
  // plasma fractal: normalised to [0, 1] with both ends reached
  const pf = plasmaFractal(32, 3, new Rng(4));
  assert.equal(Math.min(...pf), 0);
  assert.equal(Math.max(...pf), 1);
});

test('pixelate matches PIL BOX resampling on a hand-made case', () => {
  // 32 -> int(32 * .75) = 24 -> 32. A vertical step edge at x = 16 stays at x = 16 (16 / (4/3) = 12 exactly).
  const data = new Float32Array(3072);
  for (let y = 0; y < 32; y++) for (let x = 16; x < 32; x++) data.fill(1, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
  const out = imageToUint8(corrupt('pixelate', makeImage(32, 32, data), 4, { rng: new Rng(0) }));
  for (let x = 0; x < 32; x++) assert.equal(out[x * 3], x < 16 ? 0 : 255, `x=${x}`);
  // a single bright column at x=1 averages into output cell 0 or 1 of 24 (cells cover 4/3 px)
  const col = new Float32Array(3072);
  for (let y = 0; y < 32; y++) col.fill(1, (y * 32 + 1) * 3, (y * 32 + 1) * 3 + 3);
  const o2 = imageToUint8(corrupt('pixelate', makeImage(32, 32, col), 4, { rng: new Rng(0) }));
  assert.ok(o2.filter((v) => v > 0).length > 0 && o2[31 * 3]! === 0);
});

// The `c = [...]` of every corruption in hendrycks/robustness ImageNet-C/create_c/make_cifar_c.py and
// make_imagenet_c.py, written as there; zoom_blur as its np.arange(1, stop, step) arguments, frostScale
// as the overlay's cv2.resize factor (the ImageNet generator crops the overlay unscaled).
const PUBLISHED: Record<ParamSetName, CorruptionParams> = {
  cifar: {
    gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.1],
    shot_noise: [500, 250, 100, 75, 50],
    impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
    speckle_noise: [0.06, 0.1, 0.12, 0.16, 0.2],
    gaussian_blur: [0.4, 0.6, 0.7, 0.8, 1],
    glass_blur: [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
    defocus_blur: [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
    motion_blur: [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
    zoom_blur: [[1.06, 0.01], [1.11, 0.01], [1.16, 0.01], [1.21, 0.01], [1.26, 0.01]],
    fog: [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
    frost: [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
    frostScale: 0.2,
    snow: [
      [0.1, 0.2, 1, 0.6, 8, 3, 0.95], [0.1, 0.2, 1, 0.5, 10, 4, 0.9], [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
      [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85], [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8],
    ],
    spatter: [
      [0.62, 0.1, 0.7, 0.7, 0.5, 0], [0.65, 0.1, 0.8, 0.7, 0.5, 0], [0.65, 0.3, 1, 0.69, 0.5, 0],
      [0.65, 0.1, 0.7, 0.69, 0.6, 1], [0.65, 0.1, 0.5, 0.68, 0.6, 1],
    ],
    contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
    brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
    saturate: [[0.3, 0], [0.1, 0], [1.5, 0], [2, 0.1], [2.5, 0.2]],
    jpeg_compression: [80, 65, 58, 50, 40],
    pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
    elastic_transform: [
      [32 * 0, 32 * 0, 32 * 0.08], [32 * 0.05, 32 * 0.2, 32 * 0.07], [32 * 0.08, 32 * 0.06, 32 * 0.06],
      [32 * 0.1, 32 * 0.04, 32 * 0.05], [32 * 0.1, 32 * 0.03, 32 * 0.03],
    ],
  },
  imagenet: {
    gaussian_noise: [0.08, 0.12, 0.18, 0.26, 0.38],
    shot_noise: [60, 25, 12, 5, 3],
    impulse_noise: [0.03, 0.06, 0.09, 0.17, 0.27],
    speckle_noise: [0.15, 0.2, 0.35, 0.45, 0.6],
    gaussian_blur: [1, 2, 3, 4, 6],
    glass_blur: [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]],
    defocus_blur: [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]],
    motion_blur: [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]],
    zoom_blur: [[1.11, 0.01], [1.16, 0.01], [1.21, 0.02], [1.26, 0.02], [1.31, 0.03]],
    fog: [[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]],
    frost: [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]],
    frostScale: 1,
    snow: [
      [0.1, 0.3, 3, 0.5, 10, 4, 0.8], [0.2, 0.3, 2, 0.5, 12, 4, 0.7], [0.55, 0.3, 4, 0.9, 12, 8, 0.7],
      [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65], [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55],
    ],
    spatter: [
      [0.65, 0.3, 4, 0.69, 0.6, 0], [0.65, 0.3, 3, 0.68, 0.6, 0], [0.65, 0.3, 2, 0.68, 0.5, 0],
      [0.65, 0.3, 1, 0.65, 1.5, 1], [0.67, 0.4, 1, 0.65, 1.5, 1],
    ],
    contrast: [0.4, 0.3, 0.2, 0.1, 0.05],
    brightness: [0.1, 0.2, 0.3, 0.4, 0.5],
    saturate: [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]],
    jpeg_compression: [25, 18, 15, 10, 7],
    pixelate: [0.6, 0.5, 0.4, 0.3, 0.25],
    elastic_transform: [
      [244 * 2, 244 * 0.7, 244 * 0.1], [244 * 2, 244 * 0.08, 244 * 0.2], [244 * 0.05, 244 * 0.01, 244 * 0.02],
      [244 * 0.07, 244 * 0.01, 244 * 0.02], [244 * 0.12, 244 * 0.01, 244 * 0.02],
    ],
  },
};

test('both parameter sets equal the published generators for all 19 corruptions, and corrupt() uses the right one', () => {
  assert.deepEqual(PARAM_SETS.cifar, PUBLISHED.cifar);
  assert.deepEqual(PARAM_SETS.imagenet, PUBLISHED.imagenet);
  for (const set of ['cifar', 'imagenet'] as const) assert.deepEqual(Object.keys(PARAM_SETS[set]).filter((k) => k !== 'frostScale').sort(), [...ALL_CORRUPTIONS].sort());
  // Gaussian noise severity 1 on mid-grey (no clipping): sigma .04 with the CIFAR set, .08 with the ImageNet set,
  // which is also the default for a 224 px image.
  const std = (img: RgbImage) => Math.sqrt(img.data.reduce((a, v) => a + (v - 0.5) ** 2, 0) / img.data.length);
  const grey = makeImage(224, 224, new Float32Array(224 * 224 * 3).fill(0.5));
  assert.ok(Math.abs(std(corrupt('gaussian_noise', grey, 1, { rng: new Rng(1), params: 'cifar' })) - 0.04) < 0.002);
  assert.ok(Math.abs(std(corrupt('gaussian_noise', grey, 1, { rng: new Rng(1), params: 'imagenet' })) - 0.08) < 0.002);
  assert.ok(Math.abs(std(corrupt('gaussian_noise', grey, 1, { rng: new Rng(1) })) - 0.08) < 0.002);
});

test('ImageNet parameter set on a 224x224 photo: every corruption keeps shape and dtype, changes it, and is deterministic per seed', () => {
  const photo = photo224('ILSVRC2012_val_00000347.JPEG');
  const photoU8 = imageToUint8(photo);
  const run224 = (name: CorruptionName, s: Severity, seed: number) =>
    imageToUint8(corrupt(name, photo, s, { rng: corruptionRng(seed, name, s, 0), frost, params: 'imagenet' }));
  for (const name of ALL_CORRUPTIONS) {
    for (const s of [1, 3, 5] as const) {
      const out = corrupt(name, photo, s, { rng: corruptionRng(5, name, s, 0), frost, params: 'imagenet' });
      assert.equal(out.height, 224);
      assert.equal(out.width, 224);
      assert.ok(out.data instanceof Float32Array && out.data.length === 224 * 224 * 3, `${name} ${s} shape/dtype`);
      assert.ok(out.data.every((v) => v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-3), `${name} s${s}: 8-bit values in [0, 1]`);
      const a = imageToUint8(out);
      assert.ok(rmse(a, photoU8) > 0.5, `${name} s${s} changes the image (rmse ${rmse(a, photoU8)})`);
      assert.deepEqual(run224(name, s, 5), a, `${name} s${s} same seed, same bytes`);
    }
  }
  assert.deepEqual(photo.data, photo224('ILSVRC2012_val_00000347.JPEG').data, 'the input is left untouched');
  for (const name of RANDOM) assert.notDeepEqual(run224(name, 3, 1), run224(name, 3, 2), `${name} differs between seeds`);
});

/** decode(encode(x, quality)) with the project's jpeg-js helpers, on RGB bytes. */
function jpegRoundTrip(rgb: Uint8Array, height: number, width: number, quality: number): Uint8Array {
  const rgba = new Uint8Array(height * width * 4).fill(255);
  for (let p = 0; p < height * width; p++) rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
  const d = decodeJpeg(encodeJpeg(rgba, height, width, quality));
  assert.deepEqual([d.height, d.width], [height, width]);
  return Uint8Array.from({ length: height * width * 3 }, (_, k) => d.data[Math.floor(k / 3) * 4 + (k % 3)]!);
}

test("jpeg_compression is a JPEG round trip at the severity's published quality, one by one and batched (32 and 224 px)", () => {
  const cases = [
    { set: 'cifar' as const, size: 32, imgs: [0, 1, 2].map(clean) },
    { set: 'imagenet' as const, size: 224, imgs: ['ILSVRC2012_val_00000347.JPEG', 'ILSVRC2012_val_00001872.JPEG'].map(photo224) },
  ];
  for (const { set, size, imgs } of cases) {
    const q = PUBLISHED[set].jpeg_compression;
    for (const s of SEV) {
      const expect = imgs.map((img) => jpegRoundTrip(imageToUint8(img), size, size, q[s - 1]!));
      const many = corruptMany('jpeg_compression', imgs, s, { rngFor: (i) => new Rng(i), params: set });
      imgs.forEach((img, k) => {
        assert.deepEqual(imageToUint8(corrupt('jpeg_compression', img, s, { rng: new Rng(0), params: set })), expect[k], `${set} s${s} image ${k}`);
        assert.deepEqual(imageToUint8(many[k]!), expect[k], `${set} s${s} image ${k} batched`);
      });
      // The quality matters: the neighbouring severity's quality gives other bytes.
      const other = q[s === 5 ? 3 : s]!;
      assert.notDeepEqual(jpegRoundTrip(imageToUint8(imgs[0]!), size, size, other), expect[0], `${set} q${q[s - 1]} vs q${other}`);
    }
  }
});

test('bad arguments are named', () => {
  assert.throws(() => corrupt('fog' as CorruptionName, clean(0), 6 as Severity, { rng: new Rng(0) }), /fog: severity must be 1\.\.5, got 6/);
  assert.throws(() => corrupt('haze' as CorruptionName, clean(0), 1, { rng: new Rng(0) }), /unknown corruption 'haze'/);
  assert.throws(() => corrupt('frost', clean(0), 1, { rng: new Rng(0) }), /frost: no overlays given/);
});
