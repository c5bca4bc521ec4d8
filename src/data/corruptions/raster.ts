/**
 * Filtering primitives behind the corruptions, on interleaved rasters with any channel
 * count (RGB images, single-channel noise layers). Border modes follow the libraries the
 * reference generator called: scipy/skimage ('nearest', 'reflect') and OpenCV ('reflect101').
 */
export interface Raster {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly data: Float32Array;
}

export type Border = 'nearest' | 'reflect' | 'reflect101';

export function raster(h: number, w: number, c: number, data: Float32Array = new Float32Array(h * w * c)): Raster {
  return { h, w, c, data };
}

/** Map an out-of-range index into [0, n) under a border rule. */
export function borderIndex(i: number, n: number, mode: Border): number {
  if (i >= 0 && i < n) return i;
  if (n === 1) return 0;
  if (mode === 'nearest') return i < 0 ? 0 : n - 1;
  // reflect: d c b a | a b c d | d c b a (period 2n); reflect101: d c b | a b c d | c b a (period 2n-2)
  const period = mode === 'reflect' ? 2 * n : 2 * n - 2;
  let j = ((i % period) + period) % period;
  if (mode === 'reflect') return j < n ? j : period - 1 - j;
  return j < n ? j : period - j;
}

/** scipy.ndimage's Gaussian: radius int(truncate * sigma + 0.5), normalised. */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  if (radius === 0) {
    k[0] = 1;
    return k;
  }
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Correlate every channel with a symmetric 1-D kernel along x then y. */
export function separableFilter(src: Raster, kernel: Float64Array, mode: Border): Raster {
  const { h, w, c } = src;
  const r = (kernel.length - 1) >> 1;
  if (r === 0 && kernel[0] === 1) return raster(h, w, c, src.data.slice());
  const tmp = new Float32Array(src.data.length);
  const xIdx = new Int32Array(w + 2 * r);
  for (let i = -r; i < w + r; i++) xIdx[i + r] = borderIndex(i, w, mode);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < kernel.length; k++) s += kernel[k]! * src.data[row + xIdx[x + k]! * c + ch]!;
        tmp[row + x * c + ch] = s;
      }
    }
  }
  const out = raster(h, w, c);
  const yIdx = new Int32Array(h + 2 * r);
  for (let i = -r; i < h + r; i++) yIdx[i + r] = borderIndex(i, h, mode);
  const stride = w * c;
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < kernel.length; k++) {
      const wt = kernel[k]!;
      const s = yIdx[y + k]! * stride;
      const d = y * stride;
      for (let i = 0; i < stride; i++) out.data[d + i]! += wt * tmp[s + i]!;
    }
  }
  return out;
}

/** skimage.filters.gaussian (truncate 4, default border 'nearest'). */
export function gaussianBlur(src: Raster, sigma: number, mode: Border = 'nearest', truncate = 4): Raster {
  return separableFilter(src, gaussianKernel(sigma, truncate), mode);
}

/** cv2.filter2D: correlate every channel with a square kernel (BORDER_REFLECT_101), zero taps skipped. */
export function filter2d(src: Raster, kernel: Float64Array, size: number, mode: Border = 'reflect101'): Raster {
  const { h, w, c } = src;
  const r = (size - 1) >> 1;
  const taps: { dy: number; dx: number; v: number }[] = [];
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = kernel[i * size + j]!;
      if (v !== 0) taps.push({ dy: i - r, dx: j - r, v });
    }
  }
  const out = raster(h, w, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (const t of taps) {
          s += t.v * src.data[(borderIndex(y + t.dy, h, mode) * w + borderIndex(x + t.dx, w, mode)) * c + ch]!;
        }
        out.data[(y * w + x) * c + ch] = s;
      }
    }
  }
  return out;
}

/** Bilinear sample of channel `ch` at fractional (row, col), out-of-range taps mapped by `mode`. */
export function sampleBilinear(src: Raster, row: number, col: number, ch: number, mode: Border): number {
  const y0 = Math.floor(row);
  const x0 = Math.floor(col);
  const fy = row - y0;
  const fx = col - x0;
  const ya = borderIndex(y0, src.h, mode);
  const yb = borderIndex(y0 + 1, src.h, mode);
  const xa = borderIndex(x0, src.w, mode);
  const xb = borderIndex(x0 + 1, src.w, mode);
  const { w, c, data } = src;
  const top = data[(ya * w + xa) * c + ch]! * (1 - fx) + data[(ya * w + xb) * c + ch]! * fx;
  const bottom = data[(yb * w + xa) * c + ch]! * (1 - fx) + data[(yb * w + xb) * c + ch]! * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * The reference's clipped_zoom: take the centre ceil(h / z) square, enlarge it by z with
 * scipy.ndimage.zoom (order 1: output i samples input i * (in - 1) / (out - 1)), then crop
 * the centre back to h x w.
 */
export function clippedZoom(src: Raster, zoom: number): Raster {
  const { h, w, c } = src;
  const ch = Math.ceil(h / zoom);
  const cw = Math.ceil(w / zoom);
  const top = (h - ch) >> 1;
  const left = (w - cw) >> 1;
  const oh = Math.round(ch * zoom);
  const ow = Math.round(cw * zoom);
  const trimTop = (oh - h) >> 1;
  const trimLeft = (ow - w) >> 1;
  const sy = oh > 1 ? (ch - 1) / (oh - 1) : 0;
  const sx = ow > 1 ? (cw - 1) / (ow - 1) : 0;
  const out = raster(h, w, c);
  for (let y = 0; y < h; y++) {
    const fyAll = (y + trimTop) * sy;
    const y0 = Math.min(Math.floor(fyAll), ch - 1);
    const y1 = Math.min(y0 + 1, ch - 1);
    const fy = fyAll - y0;
    for (let x = 0; x < w; x++) {
      const fxAll = (x + trimLeft) * sx;
      const x0 = Math.min(Math.floor(fxAll), cw - 1);
      const x1 = Math.min(x0 + 1, cw - 1);
      const fx = fxAll - x0;
      const a = ((top + y0) * w + left + x0) * c;
      const b = ((top + y0) * w + left + x1) * c;
      const d = ((top + y1) * w + left + x0) * c;
      const e = ((top + y1) * w + left + x1) * c;
      for (let k = 0; k < c; k++) {
        const t = src.data[a + k]! * (1 - fx) + src.data[b + k]! * fx;
        const u = src.data[d + k]! * (1 - fx) + src.data[e + k]! * fx;
        out.data[(y * w + x) * c + k] = t * (1 - fy) + u * fy;
      }
    }
  }
  return out;
}

/**
 * ImageMagick's MotionBlurImage: a one-sided line of width 2*ceil(radius)+1 taps with
 * Gaussian weights exp(-i^2 / 2 sigma^2), tap i offset by round(i * (cos a, sin a)),
 * edge pixels repeated outside the image.
 */
export function motionBlur(src: Raster, radius: number, sigma: number, angleDeg: number): Raster {
  const width = 2 * Math.ceil(radius) + 1;
  const kernel = new Float64Array(width);
  let norm = 0;
  for (let i = 0; i < width; i++) {
    kernel[i] = Math.exp(-(i * i) / (2 * sigma * sigma));
    norm += kernel[i]!;
  }
  const rad = (angleDeg * Math.PI) / 180;
  const px = width * Math.sin(rad);
  const py = width * Math.cos(rad);
  const len = Math.hypot(px, py);
  const offX = new Int32Array(width);
  const offY = new Int32Array(width);
  for (let i = 0; i < width; i++) {
    kernel[i]! /= norm;
    offX[i] = Math.ceil((i * py) / len - 0.5);
    offY[i] = Math.ceil((i * px) / len - 0.5);
  }
  const { h, w, c } = src;
  const out = raster(h, w, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < width; k++) {
        const sy = borderIndex(y + offY[k]!, h, 'nearest');
        const sx = borderIndex(x + offX[k]!, w, 'nearest');
        const s = (sy * w + sx) * c;
        const d = (y * w + x) * c;
        for (let ch = 0; ch < c; ch++) out.data[d + ch]! += kernel[k]! * src.data[s + ch]!;
      }
    }
  }
  return out;
}

/** Snap values to the 8-bit grid (clipping to [0, 1]), where the reference passes through 8-bit images. */
export function quantize8(r: Raster): Raster {
  const d = r.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    d[i] = (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255)) / 255;
  }
  return r;
}

export function clip01(r: Raster): Raster {
  const d = r.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! < 0 ? 0 : d[i]! > 1 ? 1 : d[i]!;
  return r;
}
