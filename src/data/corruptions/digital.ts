/** Digital corruptions: contrast, HSV brightness / saturation, pixelate, JPEG, elastic warp. */
import type { Rng } from '../../util/rng.ts';
import { mapHsv } from './color.ts';
import { decodeJpeg, encodeJpeg } from './jpeg.ts';
import { clip01, gaussianBlur, raster, sampleBilinear, type Raster } from './raster.ts';

/** (x - mean) * c + mean with per-channel means. */
export function contrast(x: Raster, c: number): Raster {
  const mean = new Float64Array(x.c);
  const n = x.h * x.w;
  for (let i = 0; i < x.data.length; i++) mean[i % x.c]! += x.data[i]!;
  for (let ch = 0; ch < x.c; ch++) mean[ch]! /= n;
  const out = raster(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = (x.data[i]! - mean[i % x.c]!) * c + mean[i % x.c]!;
  return clip01(out);
}

export function brightness(x: Raster, c: number): Raster {
  return mapHsv(x, (hsv) => {
    hsv[2] = Math.min(Math.max(hsv[2] + c, 0), 1);
  });
}

export function saturate(x: Raster, scale: number, offset: number): Raster {
  return mapHsv(x, (hsv) => {
    hsv[1] = Math.min(Math.max(hsv[1] * scale + offset, 0), 1);
  });
}

/** PIL's BOX resampling along one axis on 8-bit values: input pixels whose centres fall in each output cell. */
function boxResizeAxis(src: Float32Array, h: number, w: number, outLen: number, axis: 'x' | 'y'): Float32Array {
  const inLen = axis === 'x' ? w : h;
  const scale = inLen / outLen;
  const filterScale = Math.max(scale, 1);
  const support = 0.5 * filterScale;
  const oh = axis === 'x' ? h : outLen;
  const ow = axis === 'x' ? outLen : w;
  const out = new Float32Array(oh * ow * 3);
  for (let o = 0; o < outLen; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inLen);
    const taps: [number, number][] = [];
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const t = (i - center + 0.5) / filterScale;
      if (t > -0.5 && t <= 0.5) {
        taps.push([i, 1]);
        sum += 1;
      }
    }
    const other = axis === 'x' ? h : w;
    for (let j = 0; j < other; j++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [i] of taps) s += src[(axis === 'x' ? j * w + i : i * w + j) * 3 + c]!;
        out[(axis === 'x' ? j * ow + o : o * ow + j) * 3 + c] = Math.round(s / sum);
      }
    }
  }
  return out;
}

/** PIL BOX resize to int(size * c), then BOX resize back (on 8-bit values like PIL). */
export function pixelate(x: Raster, c: number): Raster {
  let d: Float32Array = new Float32Array(x.data.length);
  for (let i = 0; i < d.length; i++) d[i] = Math.round(Math.min(Math.max(x.data[i]!, 0), 1) * 255);
  const sh = Math.trunc(x.h * c);
  const sw = Math.trunc(x.w * c);
  d = boxResizeAxis(d, x.h, x.w, sw, 'x');
  d = boxResizeAxis(d, x.h, sw, sh, 'y');
  d = boxResizeAxis(d, sh, sw, x.w, 'x');
  d = boxResizeAxis(d, sh, x.w, x.h, 'y');
  for (let i = 0; i < d.length; i++) d[i]! /= 255;
  return raster(x.h, x.w, 3, d);
}

/**
 * JPEG encode + decode (jpeg-js, 4:4:4). Images of equal size whose height is a multiple of 8
 * are coded as one tall mosaic: every 8x8 block is quantised independently, so the pixels
 * equal one-by-one coding, and jpeg-js's ~30 ms encoder set-up is paid once per batch.
 */
export function jpegCompressionMany(xs: readonly Raster[], quality: number): Raster[] {
  if (xs.length === 0) return [];
  const { h, w } = xs[0]!;
  if (xs.length > 1 && (h % 8 !== 0 || xs.some((x) => x.h !== h || x.w !== w))) {
    return xs.map((x) => jpegCompressionMany([x], quality)[0]!);
  }
  const n = h * w;
  const rgba = new Uint8Array(n * 4 * xs.length);
  xs.forEach((x, k) => {
    for (let p = 0; p < n; p++) {
      const o = (k * n + p) * 4;
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(Math.min(Math.max(x.data[p * 3 + c]!, 0), 1) * 255);
      rgba[o + 3] = 255;
    }
  });
  const decoded = decodeJpeg(encodeJpeg(rgba, h * xs.length, w, quality));
  return xs.map((_, k) => {
    const out = raster(h, w, 3);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out.data[p * 3 + c] = decoded.data[(k * n + p) * 4 + c]! / 255;
    return out;
  });
}

/** The affine map (a b c; d e f) taking each point of `from` to the matching point of `to` (cv2.getAffineTransform). */
export function affineFromPoints(from: readonly [number, number][], to: readonly [number, number][]): number[] {
  const [[x0, y0], [x1, y1], [x2, y2]] = from as [[number, number], [number, number], [number, number]];
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  if (det === 0) throw new Error('affineFromPoints: the three source points are collinear');
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (y1 - y2) - y0 * (v1 - v2) + (v1 * y2 - v2 * y1)) / det,
    (x0 * (v1 - v2) - v0 * (x1 - x2) + (x1 * v2 - x2 * v1)) / det,
    (x0 * (y1 * v2 - y2 * v1) - y0 * (x1 * v2 - x2 * v1) + v0 * (x1 * y2 - x2 * y1)) / det,
  ];
  return [...solve(to[0]![0], to[1]![0], to[2]![0]), ...solve(to[0]![1], to[1]![1], to[2]![1])];
}

/**
 * Random affine warp of three control points (cv2.warpAffine, bilinear, reflect-101
 * border), then a displacement field of uniform noise smoothed by a Gaussian (sigma, truncate 3,
 * reflect) scaled by alpha, sampled bilinearly (scipy map_coordinates, reflect).
 */
export function elasticTransform(x: Raster, alpha: number, sigma: number, affine: number, rng: Rng): Raster {
  const { h, w } = x;
  const cy = Math.floor(h / 2);
  const cx = Math.floor(w / 2);
  const sq = Math.floor(Math.min(h, w) / 3);
  // Control points as (x, y), as cv2 takes them.
  const pts1: [number, number][] = [[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]];
  const pts2 = pts1.map(([a, b]) => [a + rng.uniform(-affine, affine), b + rng.uniform(-affine, affine)] as [number, number]);
  // warpAffine samples the source at M^-1(dst): the map from the moved points back to the originals.
  const [a, b, c, d, e, f] = affineFromPoints(pts2, pts1) as [number, number, number, number, number, number];
  const warped = raster(h, w, 3);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const sx = a * col + b * row + c;
      const sy = d * col + e * row + f;
      for (let ch = 0; ch < 3; ch++) warped.data[(row * w + col) * 3 + ch] = sampleBilinear(x, sy, sx, ch, 'reflect101');
    }
  }
  const field = () => {
    const r = raster(h, w, 1);
    for (let i = 0; i < r.data.length; i++) r.data[i] = rng.uniform(-1, 1);
    const s = gaussianBlur(r, sigma, 'reflect', 3);
    for (let i = 0; i < s.data.length; i++) s.data[i]! *= alpha;
    return s;
  };
  const dx = field();
  const dy = field();
  const out = raster(h, w, 3);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const p = row * w + col;
      const sy = row + dy.data[p]!;
      const sx = col + dx.data[p]!;
      for (let ch = 0; ch < 3; ch++) out.data[p * 3 + ch] = sampleBilinear(warped, sy, sx, ch, 'reflect');
    }
  }
  return clip01(out);
}
