/**
 * Test-time augmentations on tfjs tensors (NHWC, RGB in [0, 1]), seeded through Rng:
 * - 'cotta': CoTTA's / RoTTA's CIFAR pipeline (clip, colour jitter with gamma in random order,
 *   edge pad n/2 + random affine + Gaussian blur (kernel 5) + centre crop, h-flip, Gaussian
 *   noise, clip). Padding, affine and crop are one inverse-mapped bilinear warp with edge
 *   clamping, evaluated on a 2-pixel border so the blur sees the same neighbours as on the padded image.
 * - 'crop-flip': random crop with zero padding + h-flip (STAMP on CIFAR-100 / ImageNet).
 * Parameters are drawn per sample; `augmentViews` can share one draw across a batch (CoTTA and
 * RoTTA transform a whole batch tensor with one draw). Nothing here is differentiated.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.ts';

export interface CottaAugConfig {
  kind: 'cotta';
  brightness: [number, number];
  contrast: [number, number];
  saturation: [number, number];
  hue: [number, number];
  gamma: [number, number];
  rotateDeg: number;
  /** Maximal translation as a fraction of the padded image size (torchvision RandomAffine). */
  translate: number;
  scale: [number, number];
  /** Edge padding before the affine, as a fraction of the image size (CoTTA: n/2). */
  padFraction: number;
  blurSigma: [number, number];
  hflipP: number;
  noiseStd: number;
}

export interface CropFlipAugConfig {
  kind: 'crop-flip';
  pad: number;
  hflipP: number;
}

export type AugConfig = CottaAugConfig | CropFlipAugConfig;

/** Published values (qinenergy/cotta get_tta_transforms, CIFAR; RoTTA reuses them). */
export const COTTA_AUG: CottaAugConfig = {
  kind: 'cotta',
  brightness: [0.6, 1.4],
  contrast: [0.7, 1.3],
  saturation: [0.5, 1.5],
  hue: [-0.06, 0.06],
  gamma: [0.7, 1.3],
  rotateDeg: 15,
  translate: 1 / 16,
  scale: [0.9, 1.1],
  padFraction: 0.5,
  blurSigma: [0.001, 0.5],
  hflipP: 0.5,
  noiseStd: 0.005,
};

export const CROP_FLIP_AUG: CropFlipAugConfig = { kind: 'crop-flip', pad: 4, hflipP: 0.5 };

const BLUR_RADIUS = 2;
const COLOR_OPS = 5;

export interface SampleParams {
  /** Colour factors in the order brightness, contrast, saturation, hue, gamma. */
  factors: number[];
  /** Permutation of the five colour ops. */
  order: number[];
  angle: number;
  tx: number;
  ty: number;
  scale: number;
  sigma: number;
  flip: boolean;
}

function drawCotta(cfg: CottaAugConfig, h: number, w: number, rng: Rng): SampleParams {
  const factors = [cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, cfg.gamma].map(([lo, hi]) => rng.uniform(lo, hi));
  const order = rng.shuffle([0, 1, 2, 3, 4]);
  const angle = (rng.uniform(-cfg.rotateDeg, cfg.rotateDeg) * Math.PI) / 180;
  // torchvision rounds the translation to whole pixels of the padded image.
  const maxDx = cfg.translate * (w + 2 * Math.floor(w * cfg.padFraction));
  const maxDy = cfg.translate * (h + 2 * Math.floor(h * cfg.padFraction));
  const tx = Math.round(rng.uniform(-maxDx, maxDx));
  const ty = Math.round(rng.uniform(-maxDy, maxDy));
  const scale = rng.uniform(cfg.scale[0], cfg.scale[1]);
  const sigma = rng.uniform(cfg.blurSigma[0], cfg.blurSigma[1]);
  const flip = rng.random() < cfg.hflipP;
  return { factors, order, angle, tx, ty, scale, sigma, flip };
}

function drawCropFlip(cfg: CropFlipAugConfig, rng: Rng): SampleParams {
  return {
    factors: [],
    order: [],
    angle: 0,
    tx: rng.int(0, 2 * cfg.pad + 1) - cfg.pad,
    ty: rng.int(0, 2 * cfg.pad + 1) - cfg.pad,
    scale: 1,
    sigma: 0,
    flip: rng.random() < cfg.hflipP,
  };
}

/**
 * The three channel planes of NHWC images. A slice along the last axis is strided, which
 * tfjs-wasm does in plain JS (slow); a matrix product with one-hot columns is a kernel call.
 */
function channels(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [n, h, w] = x.shape;
  const flat = tf.matMul(tf.reshape(x, [n * h * w, 3]), tf.eye(3));
  return tf.unstack(tf.transpose(flat), 0).map((p) => tf.reshape(p, [n, h, w, 1])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
}

function gray(x: tf.Tensor4D): tf.Tensor4D {
  const [r, g, b] = channels(x);
  return tf.addN([tf.mul(r, 0.2989), tf.mul(g, 0.587), tf.mul(b, 0.114)]) as tf.Tensor4D;
}

function blend(x: tf.Tensor, other: tf.Tensor, ratio: tf.Tensor): tf.Tensor4D {
  return tf.clipByValue(tf.add(tf.mul(ratio, x), tf.mul(tf.sub(1, ratio), other)), 0, 1) as tf.Tensor4D;
}

/** torchvision adjust_hue: RGB -> HSV, shift hue modulo 1, back to RGB. */
function adjustHue(x: tf.Tensor4D, shift: tf.Tensor): tf.Tensor4D {
  const [r, g, b] = channels(x);
  const maxc = tf.maximum(tf.maximum(r, g), b);
  const minc = tf.minimum(tf.minimum(r, g), b);
  const eqc = tf.equal(maxc, minc);
  const cr = tf.sub(maxc, minc);
  const ones = tf.onesLike(maxc);
  const s = tf.div(cr, tf.where(eqc, ones, maxc));
  const crDiv = tf.where(eqc, ones, cr);
  const rc = tf.div(tf.sub(maxc, r), crDiv);
  const gc = tf.div(tf.sub(maxc, g), crDiv);
  const bc = tf.div(tf.sub(maxc, b), crDiv);
  const isR = tf.equal(maxc, r);
  const isG = tf.logicalAnd(tf.equal(maxc, g), tf.logicalNot(isR));
  const isB = tf.logicalAnd(tf.logicalNot(tf.equal(maxc, g)), tf.logicalNot(isR));
  const hRaw = tf.addN([
    tf.mul(tf.cast(isR, 'float32'), tf.sub(bc, gc)),
    tf.mul(tf.cast(isG, 'float32'), tf.add(2, tf.sub(rc, bc))),
    tf.mul(tf.cast(isB, 'float32'), tf.add(4, tf.sub(gc, rc))),
  ]);
  const h = tf.mod(tf.add(tf.mod(tf.add(tf.div(hRaw, 6), 1), 1), shift), 1);
  const v = maxc;
  const h6 = tf.mul(h, 6);
  const iFloor = tf.floor(h6);
  const f = tf.sub(h6, iFloor);
  const i = tf.mod(iFloor, 6);
  const p = tf.clipByValue(tf.mul(v, tf.sub(1, s)), 0, 1);
  const q = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, f))), 0, 1);
  const t = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, tf.sub(1, f)))), 0, 1);
  const pick = (choices: tf.Tensor[]) => tf.addN(choices.map((c, k) => tf.mul(tf.cast(tf.equal(i, k), 'float32'), c)));
  return tf.concat([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], 3) as tf.Tensor4D;
}

export function colourOp(op: number, x: tf.Tensor4D, factor: tf.Tensor): tf.Tensor4D {
  switch (op) {
    case 0:
      return tf.clipByValue(tf.mul(x, factor), 0, 1) as tf.Tensor4D;
    case 1:
      return blend(x, tf.mean(gray(x), [1, 2, 3], true), factor);
    case 2:
      return blend(x, gray(x), factor);
    case 3:
      return adjustHue(x, factor);
    default:
      return tf.clipByValue(tf.pow(x, factor), 0, 1) as tf.Tensor4D;
  }
}

/**
 * Each sample's five colour ops in its own order (every op acts on each sample alone, so samples
 * can be grouped). Per round the rows are reordered so that the samples taking the same op are
 * contiguous (one gather), each op runs on its slice, and one last gather restores the order.
 */
export function colourJitter(x: tf.Tensor4D, params: readonly SampleParams[]): tf.Tensor4D {
  let rows = params.map((_, i) => i); // rows[r]: the sample in row r of x
  for (let round = 0; round < COLOR_OPS; round++) {
    const opOf = (sample: number) => params[sample]!.order[round]!;
    const sorted = [...rows].sort((a, b) => opOf(a) - opOf(b) || a - b);
    if (sorted.some((sample, r) => sample !== rows[r])) {
      const rowOf = new Map(rows.map((sample, r) => [sample, r]));
      x = tf.gather(x, tf.tensor1d(sorted.map((sample) => rowOf.get(sample)!), 'int32')) as tf.Tensor4D;
      rows = sorted;
    }
    const ops = [...new Set(rows.map(opOf))];
    const sizes = ops.map((op) => rows.filter((sample) => opOf(sample) === op).length);
    const parts = ops.length === 1 ? [x] : (tf.split(x, sizes, 0) as tf.Tensor4D[]);
    let start = 0;
    const done = parts.map((part, k) => {
      const members = rows.slice(start, (start += sizes[k]!));
      return colourOp(ops[k]!, part, tf.tensor4d(members.map((sample) => params[sample]!.factors[ops[k]!]!), [members.length, 1, 1, 1]));
    });
    x = done.length === 1 ? done[0]! : (tf.concat(done, 0) as tf.Tensor4D);
  }
  if (rows.some((sample, r) => sample !== r)) {
    const rowOf = new Int32Array(rows.length);
    rows.forEach((sample, r) => (rowOf[sample] = r));
    x = tf.gather(x, tf.tensor1d(rowOf, 'int32')) as tf.Tensor4D;
  }
  return x;
}

/** Inverse affine map (output pixel -> input pixel) per sample: [a0, a1, a2, b0, b1, b2]. */
function affineMatrices(params: SampleParams[], h: number, w: number, margin: number): number[][] {
  return params.map(({ angle, tx, ty, scale }) => {
    const c = Math.cos(angle) / scale;
    const s = Math.sin(angle) / scale;
    const cx = margin + (w - 1) / 2 + tx;
    const cy = margin + (h - 1) / 2 + ty;
    return [c, s, (w - 1) / 2 - c * cx - s * cy, -s, c, (h - 1) / 2 + s * cx - c * cy];
  });
}

/**
 * Bilinear neighbour indices and weights of each output pixel of one inverse map, into an
 * H x W grid offset by `base`. 'edge' clamps the coordinate (replicate padding); 'zero' gives
 * out-of-range neighbours weight 0.
 */
function bilinearTaps(m: number[], h: number, w: number, outH: number, outW: number, fill: 'edge' | 'zero', base: number, idx: Int32Array[], wt: Float32Array[], at: number): void {
  let k = at;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++, k++) {
      let x = m[0]! * ox + m[1]! * oy + m[2]!;
      let y = m[3]! * ox + m[4]! * oy + m[5]!;
      if (fill === 'edge') {
        x = Math.min(Math.max(x, 0), w - 1);
        y = Math.min(Math.max(y, 0), h - 1);
      }
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      for (let c = 0; c < 4; c++) {
        const cy = y0 + (c >> 1);
        const cx = x0 + (c & 1);
        const inside = cy >= 0 && cy < h && cx >= 0 && cx < w;
        idx[c]![k] = inside ? base + cy * w + cx : base;
        wt[c]![k] = inside ? (c >> 1 ? fy : 1 - fy) * (c & 1 ? fx : 1 - fx) : 0;
      }
    }
  }
}

/**
 * Affine warp by gathers (tf.image.transform's cpu kernel only transforms the first image of a
 * batch in tfjs 4.22). Consecutive groups of `groupSize` images share one inverse map
 * (`mats[g]`): each group is laid out as rows [H*W, groupSize*C] and one gather of row indices
 * moves all its images at once (per-image maps: groupSize 1).
 */
function warpAffine(x: tf.Tensor4D, mats: number[][], groupSize: number, outH: number, outW: number, fill: 'edge' | 'zero'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const groups = mats.length;
  if (groups * groupSize !== n) throw new Error(`augment: ${groups} maps of ${groupSize} images for a batch of ${n}`);
  const points = outH * outW * groups;
  const idx = [0, 1, 2, 3].map(() => new Int32Array(points));
  const wt = [0, 1, 2, 3].map(() => new Float32Array(points));
  mats.forEach((m, g) => bilinearTaps(m, h, w, outH, outW, fill, g * h * w, idx, wt, g * outH * outW));
  const rows = tf.reshape(tf.transpose(tf.reshape(x, [groups, groupSize, h, w, c]), [0, 2, 3, 1, 4]), [groups * h * w, groupSize * c]);
  const out = tf.addN(idx.map((ix, k) => tf.mul(tf.gather(rows, tf.tensor1d(ix, 'int32')), tf.tensor2d(wt[k]!, [points, 1]))));
  return tf.reshape(tf.transpose(tf.reshape(out, [groups, outH, outW, groupSize, c]), [0, 3, 1, 2, 4]), [n, outH, outW, c]) as tf.Tensor4D;
}

/**
 * Separable 5-tap Gaussian blur with a sigma per sample; the input carries a 2-pixel border that
 * the blur consumes. Samples become channels of one image so a depthwise convolution applies
 * each sample's own kernel in a single op.
 */
function blurValid(x: tf.Tensor4D, sigmas: number[]): tf.Tensor4D {
  const [n, hp, wp, ch] = x.shape;
  const taps = sigmas.map((sigma) => {
    const k = [-2, -1, 0, 1, 2].map((d) => Math.exp(-0.5 * (d / sigma) ** 2));
    const sum = k.reduce((a, b) => a + b, 0);
    return k.map((v) => v / sum);
  });
  // Kernel [5, n * ch]: tap k of sample i, repeated for its channels (channel index i * ch + c).
  const kernel = tf.tensor2d(
    Array.from({ length: 5 }, (_, k) => taps.flatMap((t) => new Array<number>(ch).fill(t[k]!))),
    [5, n * ch],
  );
  const asChannels = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, hp, wp, n * ch]) as tf.Tensor4D;
  const horiz = tf.depthwiseConv2d(asChannels, tf.reshape(kernel, [1, 5, n * ch, 1]) as tf.Tensor4D, 1, 'valid');
  const both = tf.depthwiseConv2d(horiz, tf.reshape(kernel, [5, 1, n * ch, 1]) as tf.Tensor4D, 1, 'valid');
  const h = hp - 2 * BLUR_RADIUS;
  const w = wp - 2 * BLUR_RADIUS;
  return tf.transpose(tf.reshape(both, [h, w, n, ch]), [2, 0, 1, 3]) as tf.Tensor4D;
}

function flipSome(x: tf.Tensor4D, flips: boolean[]): tf.Tensor4D {
  if (!flips.some(Boolean)) return x;
  const mask = tf.broadcastTo(tf.tensor4d(flips.map(Number), [flips.length, 1, 1, 1]).cast('bool'), x.shape);
  return tf.where(mask, tf.reverse(x, 2), x) as tf.Tensor4D;
}

/** `groupSize`: consecutive images sharing one draw (the warp then moves them together). */
function applyAugment(images: tf.Tensor4D, params: SampleParams[], groupSize: number, cfg: AugConfig, rng: Rng): tf.Tensor4D {
  const [n, h, w] = images.shape;
  if (params.length !== n) throw new Error(`augment: ${params.length} parameter sets for a batch of ${n}`);
  const groupParams = params.filter((_, i) => i % groupSize === 0);
  if (cfg.kind === 'crop-flip') {
    const shifted = warpAffine(images, affineMatrices(groupParams, h, w, 0), groupSize, h, w, 'zero');
    return flipSome(shifted, params.map((p) => p.flip));
  }
  let x = tf.clipByValue(images, 0, 1) as tf.Tensor4D;
  x = colourJitter(x, params);
  const m = BLUR_RADIUS;
  x = warpAffine(x, affineMatrices(groupParams, h, w, m), groupSize, h + 2 * m, w + 2 * m, 'edge');
  x = blurValid(x, params.map((p) => p.sigma));
  x = flipSome(x, params.map((p) => p.flip));
  x = tf.add(x, tf.randomNormal(x.shape, 0, cfg.noiseStd, 'float32', rng.seedForTf()));
  return tf.clipByValue(x, 0, 1) as tf.Tensor4D;
}

/**
 * `views` augmented copies of the batch, view-major: [views * N, H, W, C]. With `perBatch`, one
 * parameter draw per view is shared by the whole batch (CoTTA / RoTTA); else one per image.
 */
export function augmentViews(images: tf.Tensor4D, views: number, cfg: AugConfig, rng: Rng, perBatch: boolean): tf.Tensor4D {
  const [n, h, w, c] = images.shape;
  if (c !== 3) throw new Error(`augment: expected RGB images [N, H, W, 3], got [${images.shape}]`);
  if (!(views >= 1)) throw new Error(`augment: views must be >= 1, got ${views}`);
  const draw = () => (cfg.kind === 'cotta' ? drawCotta(cfg, h, w, rng) : drawCropFlip(cfg, rng));
  const params: SampleParams[] = [];
  for (let v = 0; v < views; v++) {
    if (perBatch) {
      const p = draw();
      for (let i = 0; i < n; i++) params.push(p);
    } else {
      for (let i = 0; i < n; i++) params.push(draw());
    }
  }
  // Copies along the batch axis are contiguous (concat), unlike tf.tile's general kernel.
  return tf.tidy(() => {
    const batch = views === 1 ? images : (tf.concat(new Array<tf.Tensor4D>(views).fill(images), 0) as tf.Tensor4D);
    return applyAugment(batch, params, perBatch ? n : 1, cfg, rng);
  });
}
