/**
 * The image type shared by readers, corruptions and streams: RGB, HWC, float32 in [0, 1].
 * Plain typed arrays (not tensors) so results never depend on a tfjs backend.
 */
export interface RgbImage {
  readonly height: number;
  readonly width: number;
  /** height * width * 3 values, row-major HWC. */
  readonly data: Float32Array;
}

export function makeImage(height: number, width: number, data?: Float32Array): RgbImage {
  const size = height * width * 3;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new Error(`image size must be positive integers, got ${height}x${width}`);
  }
  if (data && data.length !== size) {
    throw new Error(`image data has ${data.length} values, expected ${height}x${width}x3 = ${size}`);
  }
  return { height, width, data: data ?? new Float32Array(size) };
}

/** uint8 HWC RGB (or RGBA when `channels` is 4, alpha dropped) to [0, 1]. */
export function imageFromUint8(bytes: Uint8Array | Uint8ClampedArray, height: number, width: number, channels = 3): RgbImage {
  if (bytes.length !== height * width * channels) {
    throw new Error(`pixel buffer has ${bytes.length} bytes, expected ${height}x${width}x${channels}`);
  }
  const img = makeImage(height, width);
  const n = height * width;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 3 + c] = bytes[p * channels + c]! / 255;
  }
  return img;
}

/** Clip to [0, 1] and round to 8 bits (rounding, not truncation, so u8 -> float -> u8 is exact). */
export function imageToUint8(img: RgbImage, out = new Uint8Array(img.data.length)): Uint8Array {
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}

export function cloneImage(img: RgbImage): RgbImage {
  return makeImage(img.height, img.width, img.data.slice());
}

export function cropImage(img: RgbImage, top: number, left: number, height: number, width: number): RgbImage {
  if (top < 0 || left < 0 || top + height > img.height || left + width > img.width) {
    throw new Error(`crop ${height}x${width} at (${top}, ${left}) leaves the ${img.height}x${img.width} image`);
  }
  const out = makeImage(height, width);
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * img.width + left) * 3;
    out.data.set(img.data.subarray(src, src + width * 3), y * width * 3);
  }
  return out;
}

/** Per-axis resampling weights of an antialiased linear (triangle) filter, as PIL's BILINEAR resize. */
function triangleWeights(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; w: Float64Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const w = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const t = Math.abs((i - center + 0.5) / filterScale);
      const v = t < 1 ? 1 - t : 0;
      w[o * taps + i - lo] = v;
      sum += v;
    }
    for (let i = lo; i < hi; i++) w[o * taps + i - lo]! /= sum || 1;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, w, taps };
}

/** Antialiased bilinear resize (area-like when shrinking), separable: width first, then height. */
export function resizeImage(img: RgbImage, height: number, width: number): RgbImage {
  if (height === img.height && width === img.width) return cloneImage(img);
  const tmp = new Float32Array(img.height * width * 3);
  const wx = triangleWeights(img.width, width);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < wx.count[x]!; k++) {
        const wt = wx.w[x * wx.taps + k]!;
        const s = (y * img.width + wx.start[x]! + k) * 3;
        r += wt * img.data[s]!;
        g += wt * img.data[s + 1]!;
        b += wt * img.data[s + 2]!;
      }
      const d = (y * width + x) * 3;
      tmp[d] = r; tmp[d + 1] = g; tmp[d + 2] = b;
    }
  }
  const out = makeImage(height, width);
  const wy = triangleWeights(img.height, height);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < wy.count[y]!; k++) {
      const wt = wy.w[y * wy.taps + k]!;
      const s = (wy.start[y]! + k) * width * 3;
      const d = y * width * 3;
      for (let i = 0; i < width * 3; i++) out.data[d + i]! += wt * tmp[s + i]!;
    }
  }
  return out;
}
