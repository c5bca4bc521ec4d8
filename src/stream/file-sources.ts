/** Image sources over files: decoded images in a tree, CamVid crops, official CIFAR-10-C .npy read by range. */
import { checkCorruptionHeader } from '../data/cifar10c.ts';
import type { Severity } from '../data/corruptions/index.ts';
import type { ImageDecoder } from '../data/decode.ts';
import type { ByteSource, FileTree } from '../data/files.ts';
import type { LabelledFile, SegmentationPair } from '../data/folders.ts';
import { cropImage, imageFromUint8, imageToUint8, resizeImage } from '../data/image.ts';
import { parseNpyHeader } from '../data/npy.ts';
import { Rng } from '../util/rng.ts';
import type { ImageSource } from './source.ts';

/** Labelled image files, decoded on demand and resized to height x width. */
export function fileImageSource(name: string, files: readonly LabelledFile[], tree: FileTree, decode: ImageDecoder, height: number, width: number): ImageSource {
  const labels = Int32Array.from(files, (f) => f.label);
  const px = height * width * 3;
  return {
    name, size: files.length, height, width,
    labels: async () => labels,
    async get(indices) {
      const images = new Uint8Array(indices.length * px);
      await Promise.all(
        indices.map(async (i, k) => {
          const f = files[i];
          if (!f) throw new Error(`${name}: index ${i} out of range 0..${files.length - 1}`);
          const d = await decode(await tree.read(f.path), f.path);
          const img = resizeImage(imageFromUint8(d.data, d.height, d.width), height, width);
          imageToUint8(img, images.subarray(k * px, (k + 1) * px));
        }),
      );
      return { images, labels: Int32Array.from(indices, (i) => labels[i]!) };
    },
  };
}

/** Outliers from segmentation scenes: item i = a seeded random square crop of scene i % n, resized. */
export function sceneCropSource(name: string, pairs: readonly SegmentationPair[], tree: FileTree, decode: ImageDecoder, size: number, height: number, width: number, seed: number): ImageSource {
  const px = height * width * 3;
  return {
    name, size, height, width,
    labels: async () => new Int32Array(size).fill(-1),
    async get(indices) {
      const images = new Uint8Array(indices.length * px);
      await Promise.all(
        indices.map(async (i, k) => {
          if (!Number.isInteger(i) || i < 0 || i >= size) throw new Error(`${name}: index ${i} out of range 0..${size - 1}`);
          const pair = pairs[i % pairs.length]!;
          const d = await decode(await tree.read(pair.image), pair.image);
          const rng = new Rng(seed).fork(name).fork(i);
          const side = Math.min(d.height, d.width);
          const crop = cropImage(imageFromUint8(d.data, d.height, d.width), rng.int(0, d.height - side + 1), rng.int(0, d.width - side + 1), side, side);
          imageToUint8(resizeImage(crop, height, width), images.subarray(k * px, (k + 1) * px));
        }),
      );
      return { images, labels: new Int32Array(indices.length).fill(-1) };
    },
  };
}

/** One severity of an official CIFAR-10-C `<corruption>.npy`, read image by image (no full load). */
export async function npyCorruptionSource(name: string, bytes: ByteSource, labels: Int32Array, severity: Severity): Promise<ImageSource> {
  const head = await bytes.read(0, 12);
  const headerLen = head[6] === 1 ? new DataView(head.buffer).getUint16(8, true) + 10 : new DataView(head.buffer).getUint32(8, true) + 12;
  const header = parseNpyHeader(await bytes.read(0, headerLen), bytes.name);
  const { perSeverity } = checkCorruptionHeader(header, bytes.name);
  const fileSize = await bytes.size();
  if (fileSize !== header.dataOffset + 5 * perSeverity * 3072) throw new Error(`${bytes.name}: ${fileSize} bytes, header says ${header.dataOffset + 5 * perSeverity * 3072}`);
  if (labels.length !== perSeverity && labels.length !== 5 * perSeverity) throw new Error(`${bytes.name}: ${labels.length} labels for ${perSeverity} images per severity`);
  const own = labels.length === perSeverity ? labels : labels.slice((severity - 1) * perSeverity, severity * perSeverity);
  const base = header.dataOffset + (severity - 1) * perSeverity * 3072;
  return {
    name, size: perSeverity, height: 32, width: 32,
    labels: async () => own,
    async get(indices) {
      const images = new Uint8Array(indices.length * 3072);
      // Read contiguous runs of indices in one request each.
      let k = 0;
      while (k < indices.length) {
        let run = 1;
        while (k + run < indices.length && indices[k + run] === indices[k]! + run) run++;
        const first = indices[k]!;
        if (!Number.isInteger(first) || first < 0 || first + run > perSeverity) throw new Error(`${name}: index ${first} out of range 0..${perSeverity - 1}`);
        images.set(await bytes.read(base + first * 3072, run * 3072), k * 3072);
        k += run;
      }
      return { images, labels: Int32Array.from(indices, (i) => own[i]!) };
    },
  };
}
