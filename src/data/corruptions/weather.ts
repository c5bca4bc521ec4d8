/** Weather corruptions: snow, frost, fog and spatter. */
import type { Rng } from '../../util/rng.ts';
import type { RgbImage } from '../image.ts';
import { borderIndex, clip01, clippedZoom, filter2d, gaussianBlur, motionBlur, quantize8, raster, type Raster } from './raster.ts';

/**
 * Diamond-square height map as the reference's plasma_fractal (wibble starts at 100 and the
 * offsets are wibble * U(-wibble, wibble), divided by `decay` per level), normalised to [0, 1].
 * `size` must be a power of two.
 */
export function plasmaFractal(size: number, decay: number, rng: Rng): Float64Array {
  if (size < 2 || (size & (size - 1)) !== 0) throw new Error(`plasmaFractal: size ${size} is not a power of two`);
  const m = new Float64Array(size * size);
  const at = (y: number, x: number) => (((y % size) + size) % size) * size + (((x % size) + size) % size);
  let step = size;
  let wibble = 100;
  const wibbled = (sum: number) => sum / 4 + wibble * rng.uniform(-wibble, wibble);
  while (step >= 2) {
    const half = step / 2;
    // squares: centre = mean of its four corners (wrapping) + wibble
    for (let y = 0; y < size; y += step) {
      for (let x = 0; x < size; x += step) {
        const s = m[at(y, x)]! + m[at(y + step, x)]! + m[at(y, x + step)]! + m[at(y + step, x + step)]!;
        m[at(y + half, x + half)] = wibbled(s);
      }
    }
    // diamonds on the top edges of the squares (row y, column x + half)
    const top = new Float64Array((size / step) * (size / step));
    for (let y = 0, k = 0; y < size; y += step) {
      for (let x = 0; x < size; x += step, k++) {
        top[k] = m[at(y + half, x + half)]! + m[at(y - half, x + half)]! + m[at(y, x)]! + m[at(y, x + step)]!;
      }
    }
    for (let y = 0, k = 0; y < size; y += step) for (let x = 0; x < size; x += step, k++) m[at(y, x + half)] = wibbled(top[k]!);
    // diamonds on the left edges (row y + half, column x)
    const left = new Float64Array(top.length);
    for (let y = 0, k = 0; y < size; y += step) {
      for (let x = 0; x < size; x += step, k++) {
        left[k] = m[at(y + half, x + half)]! + m[at(y + half, x - half)]! + m[at(y, x)]! + m[at(y + step, x)]!;
      }
    }
    for (let y = 0, k = 0; y < size; y += step) for (let x = 0; x < size; x += step, k++) m[at(y + half, x)] = wibbled(left[k]!);
    step = half;
    wibble /= decay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < m.length; i++) m[i] = (m[i]! - lo) / (hi - lo);
  return m;
}

/** x + c * plasma, rescaled by max(x) / (max(x) + c). */
export function fog(x: Raster, c: number, decay: number, rng: Rng): Raster {
  let size = 2;
  while (size < Math.max(x.h, x.w)) size *= 2;
  const plasma = plasmaFractal(size, decay, rng);
  let maxVal = 0;
  for (const v of x.data) maxVal = Math.max(maxVal, v);
  const out = raster(x.h, x.w, 3);
  for (let y = 0; y < x.h; y++) {
    for (let xx = 0; xx < x.w; xx++) {
      const p = plasma[y * size + xx]!;
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * x.w + xx) * 3 + ch;
        out.data[i] = ((x.data[i]! + c * p) * maxVal) / (maxVal + c);
      }
    }
  }
  return clip01(out);
}

/**
 * Snow: thresholded, zoomed Gaussian noise, motion-blurred at an angle in [-135, -45] deg,
 * added twice (also rotated by 180 deg) to the image blended towards its brightened grey.
 */
export function snow(x: Raster, p: readonly [number, number, number, number, number, number, number], rng: Rng): Raster {
  const [mean, std, zoom, threshold, radius, sigma, blend] = p;
  const { h, w } = x;
  let layer = raster(h, w, 1);
  for (let i = 0; i < layer.data.length; i++) layer.data[i] = rng.normal(mean, std);
  layer = clippedZoom(layer, zoom);
  // below threshold -> 0, then the 8-bit grey image the reference hands to ImageMagick (truncated)
  for (let i = 0; i < layer.data.length; i++) {
    const v = layer.data[i]! < threshold ? 0 : Math.min(Math.max(layer.data[i]!, 0), 1);
    layer.data[i] = Math.floor(v * 255) / 255;
  }
  layer = quantize8(motionBlur(layer, radius, sigma, rng.uniform(-135, -45)));
  const out = raster(h, w, 3);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      const i = (y * w + xx) * 3;
      const grey = 0.299 * x.data[i]! + 0.587 * x.data[i + 1]! + 0.114 * x.data[i + 2]!;
      const s = layer.data[y * w + xx]! + layer.data[(h - 1 - y) * w + (w - 1 - xx)]!;
      for (let ch = 0; ch < 3; ch++) {
        const v = x.data[i + ch]!;
        out.data[i + ch] = blend * v + (1 - blend) * Math.max(v, grey * 1.5 + 0.5) + s;
      }
    }
  }
  return clip01(out);
}

/**
 * cv2.resize by a factor with INTER_LINEAR: output size round(size * f), sample at
 * (i + 0.5) / f - 0.5 clamped to the image, 8-bit result.
 */
export function resizeLinearByFactor(img: RgbImage, factor: number): RgbImage {
  const oh = Math.round(img.height * factor);
  const ow = Math.round(img.width * factor);
  const src = raster(img.height, img.width, 3, img.data);
  const data = new Float32Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(Math.max((y + 0.5) / factor - 0.5, 0), img.height - 1);
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(Math.max((x + 0.5) / factor - 0.5, 0), img.width - 1);
      for (let c = 0; c < 3; c++) {
        const v = sampleClamped(src, sy, sx, c);
        data[(y * ow + x) * 3 + c] = Math.round(v * 255) / 255;
      }
    }
  }
  return { height: oh, width: ow, data };
}

function sampleClamped(src: Raster, row: number, col: number, ch: number): number {
  const y0 = Math.floor(row);
  const x0 = Math.floor(col);
  const y1 = Math.min(y0 + 1, src.h - 1);
  const x1 = Math.min(x0 + 1, src.w - 1);
  const fy = row - y0;
  const fx = col - x0;
  const d = src.data;
  const t = d[(y0 * src.w + x0) * 3 + ch]! * (1 - fx) + d[(y0 * src.w + x1) * 3 + ch]! * fx;
  const b = d[(y1 * src.w + x0) * 3 + ch]! * (1 - fx) + d[(y1 * src.w + x1) * 3 + ch]! * fx;
  return t * (1 - fy) + b * fy;
}

/** image_weight * x + frost_weight * (random crop of a random one of the first five overlays). */
export function frost(x: Raster, imageWeight: number, frostWeight: number, overlays: readonly RgbImage[], rng: Rng): Raster {
  if (overlays.length < 5) throw new Error(`frost needs the 5 overlays frost1..frost5, got ${overlays.length}`);
  const ov = overlays[rng.int(0, 5)]!;
  if (ov.height <= x.h || ov.width <= x.w) {
    throw new Error(`frost overlay ${ov.height}x${ov.width} is not larger than the ${x.h}x${x.w} image`);
  }
  const top = rng.int(0, ov.height - x.h);
  const left = rng.int(0, ov.width - x.w);
  const out = raster(x.h, x.w, 3);
  for (let y = 0; y < x.h; y++) {
    for (let xx = 0; xx < x.w; xx++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * x.w + xx) * 3 + c;
        out.data[i] = imageWeight * x.data[i]! + frostWeight * ov.data[((top + y) * ov.width + left + xx) * 3 + c]!;
      }
    }
  }
  return clip01(out);
}

/** 8-bit Canny edge map (Sobel 3x3, L1 magnitude, non-maximum suppression, hysteresis). */
function canny(img: Uint8Array, h: number, w: number, low: number, high: number): Uint8Array {
  const mag = new Float64Array(h * w);
  const gxs = new Float64Array(h * w);
  const gys = new Float64Array(h * w);
  const px = (y: number, x: number) => img[borderIndex(y, h, 'nearest') * w + borderIndex(x, w, 'nearest')]!;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gx = px(y - 1, x + 1) + 2 * px(y, x + 1) + px(y + 1, x + 1) - px(y - 1, x - 1) - 2 * px(y, x - 1) - px(y + 1, x - 1);
      const gy = px(y + 1, x - 1) + 2 * px(y + 1, x) + px(y + 1, x + 1) - px(y - 1, x - 1) - 2 * px(y - 1, x) - px(y - 1, x + 1);
      gxs[y * w + x] = gx;
      gys[y * w + x] = gy;
      mag[y * w + x] = Math.abs(gx) + Math.abs(gy);
    }
  }
  const m = (y: number, x: number) => (y < 0 || y >= h || x < 0 || x >= w ? 0 : mag[y * w + x]!);
  const state = new Uint8Array(h * w); // 0 none, 1 weak, 2 strong
  const tan22 = Math.tan(Math.PI / 8);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = mag[y * w + x]!;
      if (v <= low) continue;
      const ax = Math.abs(gxs[y * w + x]!);
      const ay = Math.abs(gys[y * w + x]!);
      let n1: number, n2: number;
      if (ay <= ax * tan22) [n1, n2] = [m(y, x - 1), m(y, x + 1)];
      else if (ay >= ax / tan22) [n1, n2] = [m(y - 1, x), m(y + 1, x)];
      else if (gxs[y * w + x]! * gys[y * w + x]! > 0) [n1, n2] = [m(y - 1, x - 1), m(y + 1, x + 1)];
      else [n1, n2] = [m(y - 1, x + 1), m(y + 1, x - 1)];
      if (v > n1 && v >= n2) state[y * w + x] = v > high ? 2 : 1;
    }
  }
  const out = new Uint8Array(h * w);
  const stack: number[] = [];
  for (let i = 0; i < state.length; i++) if (state[i] === 2) stack.push(i);
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (out[i]) continue;
    out[i] = 255;
    const y = Math.floor(i / w);
    const x = i % w;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && state[yy * w + xx] && !out[yy * w + xx]) stack.push(yy * w + xx);
      }
    }
  }
  return out;
}

/** Distance of every pixel to the nearest zero pixel: two-pass 5x5 chamfer with OpenCV's L2 weights. */
function distanceToZero(src: Uint8Array, h: number, w: number): Float64Array {
  const a = 1, b = 1.4, c = 2.1969;
  const big = 1e9;
  const d = new Float64Array(h * w);
  for (let i = 0; i < d.length; i++) d[i] = src[i] === 0 ? 0 : big;
  const fwd: [number, number, number][] = [[-2, -1, c], [-2, 1, c], [-1, -2, c], [-1, -1, b], [-1, 0, a], [-1, 1, b], [-1, 2, c], [0, -1, a]];
  const pass = (taps: [number, number, number][], y: number, x: number) => {
    let v = d[y * w + x]!;
    for (const [dy, dx, wt] of taps) {
      const yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < h && xx >= 0 && xx < w) v = Math.min(v, d[yy * w + xx]! + wt);
    }
    d[y * w + x] = v;
  };
  const bwd = fwd.map(([dy, dx, wt]) => [-dy, -dx, wt] as [number, number, number]);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pass(fwd, y, x);
  for (let y = h - 1; y >= 0; y--) for (let x = w - 1; x >= 0; x--) pass(bwd, y, x);
  return d;
}

function boxBlur3(r: Raster): Raster {
  const k = new Float64Array(9).fill(1 / 9);
  return filter2d(r, k, 3, 'reflect101');
}

function equalizeHist(v: Uint8Array): Uint8Array {
  const hist = new Int32Array(256);
  for (const x of v) hist[x]!++;
  let i = 0;
  while (hist[i] === 0) i++;
  if (hist[i] === v.length) return new Uint8Array(v.length).fill(i);
  const scale = 255 / (v.length - hist[i]!);
  const lut = new Uint8Array(256);
  let sum = 0;
  for (lut[i++] = 0; i < 256; i++) {
    sum += hist[i]!;
    lut[i] = Math.min(255, Math.round(sum * scale));
  }
  return v.map((x) => lut[x]!);
}

/**
 * Spatter: a blurred, thresholded noise "liquid" layer; mode 0 paints pale-turquoise water
 * shaded by an edge-distance relief, mode 1 covers the image with mud-brown blobs.
 */
export function spatter(x: Raster, p: readonly [number, number, number, number, number, number], rng: Rng): Raster {
  const [loc, scale, sigma, threshold, intensity, mode] = p;
  const { h, w } = x;
  let liquid = raster(h, w, 1);
  for (let i = 0; i < liquid.data.length; i++) liquid.data[i] = rng.normal(loc, scale);
  liquid = gaussianBlur(liquid, sigma);
  for (let i = 0; i < liquid.data.length; i++) if (liquid.data[i]! < threshold) liquid.data[i] = 0;
  const out = raster(h, w, 3);
  if (mode === 0) {
    const l8 = Uint8Array.from(liquid.data, (v) => Math.min(Math.max(Math.floor(v * 255), 0), 255));
    const edges = canny(l8, h, w, 50, 150);
    const dist = distanceToZero(edges.map((e) => 255 - e), h, w);
    const truncated = raster(h, w, 1, Float32Array.from(dist, (v) => Math.min(v, 20)));
    const blurred = Uint8Array.from(boxBlur3(truncated).data, (v) => Math.floor(v));
    const eq = raster(h, w, 1, Float32Array.from(equalizeHist(blurred)));
    const relief = filter2d(eq, Float64Array.from([-2, -1, 0, -1, 1, 1, 0, 1, 2]), 3, 'reflect101');
    for (let i = 0; i < relief.data.length; i++) relief.data[i] = Math.min(Math.max(Math.round(relief.data[i]!), 0), 255);
    const shade = boxBlur3(relief);
    const mAll = liquid.data.map((v, i) => v * shade.data[i]!);
    let mMax = 0;
    for (const v of mAll) mMax = Math.max(mMax, v);
    // water colour (238, 238, 175) in RGB: the reference adds BGR (175, 238, 238) to an RGB image
    const colour = [175 / 255, 238 / 255, 238 / 255];
    for (let i = 0; i < h * w; i++) {
      const m = mMax > 0 ? (mAll[i]! / mMax) * intensity : 0;
      for (let c = 0; c < 3; c++) out.data[i * 3 + c] = x.data[i * 3 + c]! + m * colour[c]!;
    }
  } else {
    const mask = raster(h, w, 1, Float32Array.from(liquid.data, (v) => (v > threshold ? 1 : 0)));
    const m = gaussianBlur(mask, intensity);
    const colour = [63 / 255, 42 / 255, 20 / 255];
    for (let i = 0; i < h * w; i++) {
      const a = m.data[i]! < 0.8 ? 0 : m.data[i]!;
      for (let c = 0; c < 3; c++) out.data[i * 3 + c] = x.data[i * 3 + c]! * (1 - a) + colour[c]! * a;
    }
  }
  return clip01(out);
}
