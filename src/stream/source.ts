/**
 * Image sources behind streams: indexable, lazily loaded, uint8 HWC RGB. A stream only
 * holds a plan of (source, index) pairs and asks sources for one batch at a time, so
 * 150,000-image streams never sit in memory.
 */
import type { Uint8Images } from '../data/cifar.ts';
import { corruptMany, corruptionRng, type CorruptionName, type FrostOverlays, type ParamSetName, type Severity } from '../data/corruptions/index.ts';
import { imageFromUint8, imageToUint8, resizeImage } from '../data/image.ts';
import { Rng } from '../util/rng.ts';

export interface ImageItems {
  /** n * height * width * 3 bytes, NHWC RGB. */
  readonly images: Uint8Array;
  /** Class labels; -1 where unknown (outliers). */
  readonly labels: Int32Array;
}

export interface ImageSource {
  readonly name: string;
  readonly size: number;
  readonly height: number;
  readonly width: number;
  /** All labels, without loading images (for label-ordered streams). */
  labels(): Promise<Int32Array>;
  get(indices: readonly number[]): Promise<ImageItems>;
}

function checkIndices(src: { name: string; size: number }, indices: readonly number[]): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= src.size) throw new Error(`${src.name}: index ${i} out of range 0..${src.size - 1}`);
  }
}

/** Images already in memory (a CIFAR batch, one CIFAR-10-C severity). */
export function memorySource(name: string, set: Uint8Images): ImageSource {
  const px = set.height * set.width * 3;
  const labels = Int32Array.from(set.labels);
  return {
    name, size: set.n, height: set.height, width: set.width,
    labels: async () => labels,
    async get(indices) {
      checkIndices(this, indices);
      const images = new Uint8Array(indices.length * px);
      indices.forEach((i, k) => images.set(set.data.subarray(i * px, (i + 1) * px), k * px));
      return { images, labels: Int32Array.from(indices, (i) => labels[i]!) };
    },
  };
}

/** A clean source corrupted on the fly; image i gets corruptionRng(seed, name, severity, i), as make-cifar10c. */
export function corruptedSource(
  clean: ImageSource,
  corruption: CorruptionName,
  severity: Severity,
  opts: { seed: number; frost?: FrostOverlays; params?: ParamSetName },
): ImageSource {
  const px = clean.height * clean.width * 3;
  return {
    name: `${corruption}-${severity}`, size: clean.size, height: clean.height, width: clean.width,
    labels: () => clean.labels(),
    async get(indices) {
      const items = await clean.get(indices);
      const imgs = indices.map((_, k) => imageFromUint8(items.images.subarray(k * px, (k + 1) * px), clean.height, clean.width));
      const outs = corruptMany(corruption, imgs, severity, {
        rngFor: (k) => corruptionRng(opts.seed, corruption, severity, indices[k]!),
        frost: opts.frost,
        params: opts.params,
      });
      const images = new Uint8Array(indices.length * px);
      outs.forEach((o, k) => imageToUint8(o, images.subarray(k * px, (k + 1) * px)));
      return { images, labels: items.labels };
    },
  };
}

/** Resize every image of a source (antialiased bilinear) to the model's input size. */
export function resizedSource(src: ImageSource, height: number, width: number): ImageSource {
  if (src.height === height && src.width === width) return src;
  const px = src.height * src.width * 3;
  const outPx = height * width * 3;
  return {
    name: src.name, size: src.size, height, width,
    labels: () => src.labels(),
    async get(indices) {
      const items = await src.get(indices);
      const images = new Uint8Array(indices.length * outPx);
      indices.forEach((_, k) => {
        const img = imageFromUint8(items.images.subarray(k * px, (k + 1) * px), src.height, src.width);
        imageToUint8(resizeImage(img, height, width), images.subarray(k * outPx, (k + 1) * outPx));
      });
      return { images, labels: items.labels };
    },
  };
}

/** Uniform-noise outlier images, label -1; image i is fixed by (seed, i). */
export function noiseSource(size: number, height: number, width: number, seed: number): ImageSource {
  return {
    name: 'noise', size, height, width,
    labels: async () => new Int32Array(size).fill(-1),
    async get(indices) {
      checkIndices(this, indices);
      const px = height * width * 3;
      const images = new Uint8Array(indices.length * px);
      indices.forEach((i, k) => {
        const rng = new Rng(seed).fork('noise').fork(i);
        for (let j = 0; j < px; j++) images[k * px + j] = rng.int(0, 256);
      });
      return { images, labels: new Int32Array(indices.length).fill(-1) };
    },
  };
}

/** Treat every image of a source as an outlier (label -1). */
export function asOutliers(src: ImageSource): ImageSource {
  return {
    name: src.name, size: src.size, height: src.height, width: src.width,
    labels: async () => new Int32Array(src.size).fill(-1),
    async get(indices) {
      const items = await src.get(indices);
      return { images: items.images, labels: new Int32Array(indices.length).fill(-1) };
    },
  };
}
