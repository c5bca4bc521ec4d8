/** Blur corruptions. */
import type { Rng } from '../../util/rng.ts';
import { clip01, clippedZoom, filter2d, gaussianBlur, motionBlur, quantize8, raster, type Raster } from './raster.ts';

/** cv2.getGaussianKernel(size, sigma) for sigma > 0. */
function cvGaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const mid = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - mid) ** 2) / (2 * sigma * sigma));
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i]! /= sum;
  return k;
}

/**
 * The reference's disk(): the binary disk x^2 + y^2 <= r^2 on a 17x17 grid (or (2r+1)^2
 * for r > 8), normalised, then antialiased by a 3x3 (5x5) Gaussian with sigma alias_blur.
 */
export function diskKernel(radius: number, aliasBlur: number): { kernel: Float64Array; size: number } {
  const half = radius <= 8 ? 8 : Math.trunc(radius);
  const size = 2 * half + 1;
  const disk = raster(size, size, 1);
  let count = 0;
  for (let y = -half; y <= half; y++) {
    for (let x = -half; x <= half; x++) {
      if (x * x + y * y <= radius * radius) {
        disk.data[(y + half) * size + x + half] = 1;
        count++;
      }
    }
  }
  for (let i = 0; i < disk.data.length; i++) disk.data[i]! /= count;
  const g = cvGaussianKernel(radius <= 8 ? 3 : 5, aliasBlur);
  const blurred = separableFilterReflect101(disk, g);
  return { kernel: Float64Array.from(blurred.data), size };
}

function separableFilterReflect101(r: Raster, k: Float64Array): Raster {
  const size = k.length;
  const k2 = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) k2[i * size + j] = k[i]! * k[j]!;
  return filter2d(r, k2, size, 'reflect101');
}

export function defocusBlur(x: Raster, radius: number, aliasBlur: number): Raster {
  const { kernel, size } = diskKernel(radius, aliasBlur);
  return clip01(filter2d(x, kernel, size, 'reflect101'));
}

export function gaussianBlurCorruption(x: Raster, sigma: number): Raster {
  return clip01(gaussianBlur(x, sigma));
}

/**
 * Blur, swap each pixel with a random neighbour within max_delta (bottom-right to top-left,
 * `iterations` times, on the 8-bit image as the reference), blur again.
 */
export function glassBlur(x: Raster, sigma: number, delta: number, iterations: number, rng: Rng): Raster {
  const img = gaussianBlur(x, sigma);
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.floor(Math.min(Math.max(d[i]!, 0), 1) * 255) / 255;
  const { h, w } = img;
  for (let it = 0; it < iterations; it++) {
    for (let y = h - delta; y > delta; y--) {
      for (let xx = w - delta; xx > delta; xx--) {
        const dx = rng.int(-delta, delta);
        const dy = rng.int(-delta, delta);
        const a = (y * w + xx) * 3;
        const b = ((y + dy) * w + xx + dx) * 3;
        for (let c = 0; c < 3; c++) {
          const t = d[a + c]!;
          d[a + c] = d[b + c]!;
          d[b + c] = t;
        }
      }
    }
  }
  return clip01(gaussianBlur(img, sigma));
}

export function motionBlurCorruption(x: Raster, radius: number, sigma: number, rng: Rng): Raster {
  return quantize8(motionBlur(x, radius, sigma, rng.uniform(-45, 45)));
}

/** Mean of the image and its centre zooms by each factor. */
export function zoomBlur(x: Raster, factors: readonly number[]): Raster {
  const out = raster(x.h, x.w, x.c, x.data.slice());
  for (const z of factors) {
    const zoomed = clippedZoom(x, z);
    for (let i = 0; i < out.data.length; i++) out.data[i]! += zoomed.data[i]!;
  }
  for (let i = 0; i < out.data.length; i++) out.data[i]! /= factors.length + 1;
  return clip01(out);
}
