/**
 * Images as they cross into the runtime: a typed-array batch in NHWC, or ImageBitmaps
 * (from a camera, a video or decoded files) that are resized to the model's input.
 */
import * as tf from '@tensorflow/tfjs';

export interface ImageBatch {
  /** NHWC pixels: uint8 in [0, 255] or float in [0, 1]. */
  data: Float32Array | Uint8Array | Uint8ClampedArray;
  shape: [number, number, number, number];
}

/** Check a batch against the model's input and turn it into a [0, 1] float tensor. */
export function batchToTensor(batch: ImageBatch, inputShape: readonly [number, number, number]): tf.Tensor4D {
  const [n, h, w, c] = batch.shape;
  if (!Array.isArray(batch.shape) || batch.shape.length !== 4 || batch.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`image batch shape must be [N, H, W, C] of non-negative integers, got ${JSON.stringify(batch.shape)}`);
  }
  if (n === 0) throw new Error('empty batch: at least one image is needed');
  if (h !== inputShape[0] || w !== inputShape[1] || c !== inputShape[2]) {
    throw new Error(
      `image size ${h}x${w}x${c} does not match the model input ${inputShape[0]}x${inputShape[1]}x${inputShape[2]} (H x W x C)`,
    );
  }
  if (batch.data.length !== n * h * w * c) {
    throw new Error(`image batch has ${batch.data.length} values, shape [${batch.shape}] needs ${n * h * w * c}`);
  }
  if (batch.data instanceof Float32Array) {
    for (let i = 0; i < batch.data.length; i++) {
      const v = batch.data[i]!;
      if (!(v >= 0 && v <= 1)) throw new Error(`float image value ${v} at index ${i} is outside [0, 1] (NaN or unscaled pixels?)`);
    }
    return tf.tensor4d(batch.data, batch.shape, 'float32');
  }
  return tf.tidy(() => tf.tensor4d(Float32Array.from(batch.data), batch.shape, 'float32').div(255) as tf.Tensor4D);
}

/** Draw ImageBitmaps at the model's input size (bilinear, as the browser scales) into one uint8 batch. */
export function bitmapsToBatch(bitmaps: readonly ImageBitmap[], height: number, width: number): ImageBatch {
  if (bitmaps.length === 0) throw new Error('empty batch: no images given');
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2d context unavailable');
  const out = new Uint8Array(bitmaps.length * height * width * 3);
  bitmaps.forEach((bmp, i) => {
    if (bmp.width === 0 || bmp.height === 0) throw new Error(`image ${i} is empty (0x0 or already closed)`);
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(bmp, 0, 0, width, height);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const base = i * height * width * 3;
    for (let p = 0; p < height * width; p++) {
      out[base + 3 * p] = rgba[4 * p]!;
      out[base + 3 * p + 1] = rgba[4 * p + 1]!;
      out[base + 3 * p + 2] = rgba[4 * p + 2]!;
    }
  });
  return { data: out, shape: [bitmaps.length, height, width, 3] };
}
