/**
 * Where the benchmark's images come from, read inside the worker over HTTP from the CLI's
 * server (src/stream image sources underneath):
 * - cifar10c: CIFAR-10-C generated on the fly from a clean CIFAR-10 test file, the same
 *   bytes as `npm run make-cifar10c` with its default seed 0;
 * - cifar10c-npy: official CIFAR-10-C `<corruption>.npy` + `labels.npy`, read by byte ranges;
 * - mini-imagenet-c: a labelled image list (`<path>, <label>` lines) corrupted on the fly with
 *   the ImageNet parameters at the model's input size;
 * - imagenet-c: `<corruption>/<severity>/<wnid>/*.JPEG` folders, resized to the model input;
 * - camvid-c: CamVid image / label PNG pairs corrupted on the fly (parameter set by image size).
 * Open-set outliers: uniform noise, the shipped ImageNet sample images and crops of the shipped CamVid frames.
 */
import * as tf from '@tensorflow/tfjs';
import { parseCifarBatch, type Uint8Images } from '../data/cifar.ts';
import { fetchBytes, loadFrostOverlaysFromUrl } from '../data/browser.ts';
import { isCorruptionName, type FrostOverlays, type Severity } from '../data/corruptions/index.ts';
import { decodeImageBrowser } from '../data/decode-browser.ts';
import type { ImageDecoder } from '../data/decode.ts';
import { urlByteSource, type FileTree } from '../data/files.ts';
import { listCamVid, listImageNetC, parseLabelList, parseSynsetWords, readSegmentationPair } from '../data/folders.ts';
import { readNpy, toNumbers } from '../data/npy.ts';
import type { SourceDataProvider } from '../methods/shared/fisher.ts';
import { fileImageSource, npyCorruptionSource, sceneCropSource } from '../stream/file-sources.ts';
import { asOutliers, corruptedSource, memorySource, noiseSource, type ImageItems, type ImageSource } from '../stream/source.ts';
import type { DataSource } from './protocol.ts';
import type { DatasetSpec } from './types.ts';

/** Seed of the generated corruptions: make-cifar10c's default, so generated files and on-the-fly data agree. */
export const CORRUPTION_DATA_SEED = 0;

export interface BenchData extends DataSource {
  /** Clean images of the labelled domain (EATA's Fisher information), where the data set has them. */
  clean?: SourceDataProvider;
}

/** Batches of the first `maxImages` clean images as [0, 1] tensors (the consumer disposes them). */
function cleanProvider(images: Uint8Images): SourceDataProvider {
  const px = images.height * images.width * 3;
  return async function* (batchSize, maxImages) {
    const total = Math.min(maxImages, images.n);
    for (let i = 0; i < total; i += batchSize) {
      const end = Math.min(total, i + batchSize);
      yield tf.tidy(() => tf.tensor4d(Float32Array.from(images.data.subarray(i * px, end * px)), [end - i, images.height, images.width, 3]).div(255) as tf.Tensor4D);
    }
  };
}

/**
 * Keep generated images once made: every method of a benchmark streams the same domains,
 * and corrupting on the fly costs about as much as a forward pass. `budget` bounds the
 * bytes kept over all cached sources (beyond it images are regenerated each time).
 */
export function cached(src: ImageSource, budget: { bytes: number }): ImageSource {
  const px = src.height * src.width * 3;
  // Labels per item: 1 for classification, height * width for segmentation label maps.
  const store = new Map<number, { image: Uint8Array; labels: Int32Array }>();
  return {
    ...src,
    labels: () => src.labels(),
    async get(indices): Promise<ImageItems> {
      const missing = [...new Set(indices.filter((i) => !store.has(i)))];
      const fresh = missing.length > 0 ? await src.get(missing) : undefined;
      const per = fresh ? fresh.labels.length / missing.length : (store.get(indices[0]!)?.labels.length ?? 1);
      const got = new Map(missing.map((i, k) => [i, { image: fresh!.images.subarray(k * px, (k + 1) * px), labels: fresh!.labels.subarray(k * per, (k + 1) * per) }]));
      const images = new Uint8Array(indices.length * px);
      const labels = new Int32Array(indices.length * per);
      indices.forEach((i, k) => {
        const item = store.get(i) ?? got.get(i)!;
        images.set(item.image, k * px);
        labels.set(item.labels, k * per);
      });
      for (const [i, item] of got) {
        const bytes = px + 4 * per;
        if (budget.bytes < bytes) break;
        budget.bytes -= bytes;
        store.set(i, { image: item.image.slice(), labels: item.labels.slice() });
      }
      return { images, labels };
    },
  };
}

/** A read-only file tree over the CLI's mount (directories are served as JSON listings). */
function httpTree(base: string): FileTree {
  return {
    async list(dir) {
      const names = JSON.parse(new TextDecoder().decode(await fetchBytes(`${base}/${dir}`))) as string[];
      return names.map((n) => (n.endsWith('/') ? { name: n.slice(0, -1), kind: 'directory' as const } : { name: n, kind: 'file' as const }));
    },
    read: (path) => fetchBytes(`${base}/${path}`),
  };
}

function severityOf(s: number): Severity {
  if (!Number.isInteger(s) || s < 1 || s > 5) throw new Error(`severity must be 1..5, got ${s}`);
  return s as Severity;
}

export interface DataOptions {
  /** Images per domain the benchmark uses (only these are generated). */
  n: number;
  inputShape: readonly [number, number, number];
  /** Bytes of generated images to keep in memory. */
  cacheBytes?: number;
}

/**
 * Open-set outliers at the model's input size, which the stream draws from in turn (each item
 * at a seeded index): uniform noise, the shipped ImageNet sample images, and seeded square crops
 * of the shipped CamVid frames. `samples` is public/samples.
 */
export async function openSetOutliers(samples: FileTree, decode: ImageDecoder, height: number, width: number): Promise<ImageSource[]> {
  const text = async (path: string) => new TextDecoder().decode(await samples.read(path));
  const imagenet = parseLabelList(await text('imagenet/labels.txt')).map((f) => ({ ...f, path: `imagenet/${f.path}` }));
  // Served as static files (no folder listings), so the frames come from their list.
  const frames = (await text('camvid/frames.txt')).split('\n').map((l) => l.trim()).filter(Boolean);
  const scenes = frames.map((f) => ({ image: `camvid/images/${f}`, label: `camvid/labels/${f}` }));
  return [
    noiseSource(1000, height, width, CORRUPTION_DATA_SEED),
    asOutliers(fileImageSource('imagenet-sample', imagenet, samples, decode, height, width)),
    sceneCropSource('camvid-crops', scenes, samples, decode, 1000, height, width, CORRUPTION_DATA_SEED),
  ];
}

export async function openDataSource(spec: DatasetSpec, opts: DataOptions): Promise<BenchData> {
  const [height, width] = opts.inputShape;
  const outliers = () => openSetOutliers(httpTree('/samples'), decodeImageBrowser, height, width);
  switch (spec.kind) {
    case 'cifar10c': {
      if (!spec.file) throw new Error('cifar10c data needs the clean CIFAR-10 test file');
      const images = parseCifarBatch(await fetchBytes(`${spec.url}/${spec.file}`), `${spec.source}/${spec.file}`);
      if (images.n < opts.n) throw new Error(`${spec.source}/${spec.file} has ${images.n} images, --n asks for ${opts.n}`);
      const clean = memorySource('clean', images);
      const budget = { bytes: opts.cacheBytes ?? 512 << 20 };
      let frost: Promise<FrostOverlays> | undefined;
      return {
        clean: cleanProvider(images),
        outliers,
        async domain(corruption, severity) {
          if (!isCorruptionName(corruption)) throw new Error(`unknown corruption '${corruption}'`);
          if (corruption === 'frost') frost ??= loadFrostOverlaysFromUrl('/corruptions/');
          const src = corruptedSource(clean, corruption, severityOf(severity), { seed: CORRUPTION_DATA_SEED, params: 'cifar', frost: corruption === 'frost' ? await frost : undefined });
          return cached(src, budget);
        },
      };
    }
    case 'cifar10c-npy': {
      const labels = Int32Array.from(toNumbers(readNpy(await fetchBytes(`${spec.url}/labels.npy`), `${spec.source}/labels.npy`).data));
      return {
        outliers,
        domain: (corruption, severity) => npyCorruptionSource(`${corruption}-${severity}`, urlByteSource(`${spec.url}/${corruption}.npy`), labels, severityOf(severity)),
      };
    }
    case 'mini-imagenet-c': {
      // Decoded and resized once, then corrupted on the fly with the ImageNet parameters.
      const list = parseLabelList(new TextDecoder().decode(await fetchBytes(`${spec.url}/${spec.file}`)));
      if (list.length < opts.n) throw new Error(`${spec.source}/${spec.file} lists ${list.length} images, --n asks for ${opts.n}`);
      const budget = { bytes: opts.cacheBytes ?? 512 << 20 };
      const clean = cached(fileImageSource('clean', list, httpTree(spec.url), decodeImageBrowser, height, width), budget);
      let frost: Promise<FrostOverlays> | undefined;
      return {
        clean: async function* (batchSize, maxImages) {
          const total = Math.min(maxImages, clean.size);
          for (let i = 0; i < total; i += batchSize) {
            const idx = Array.from({ length: Math.min(batchSize, total - i) }, (_, k) => i + k);
            const { images } = await clean.get(idx);
            yield tf.tidy(() => tf.tensor4d(Float32Array.from(images), [idx.length, height, width, 3]).div(255) as tf.Tensor4D);
          }
        },
        outliers,
        async domain(corruption, severity) {
          if (!isCorruptionName(corruption)) throw new Error(`unknown corruption '${corruption}'`);
          if (corruption === 'frost') frost ??= loadFrostOverlaysFromUrl('/corruptions/');
          const src = corruptedSource(clean, corruption, severityOf(severity), { seed: CORRUPTION_DATA_SEED, params: 'imagenet', frost: corruption === 'frost' ? await frost : undefined });
          return cached(src, budget);
        },
      };
    }
    case 'camvid-c': {
      // Image / label-map pairs at the model's input size, corrupted on the fly (labels pass through unchanged).
      const tree = httpTree(spec.url);
      const pairs = await listCamVid(tree, '', spec.file ?? '');
      if (pairs.length < opts.n) throw new Error(`${spec.source}: ${pairs.length} CamVid frames, --n asks for ${opts.n}`);
      const budget = { bytes: opts.cacheBytes ?? 512 << 20 };
      const frames: ImageSource = {
        name: 'camvid', size: pairs.length, height, width,
        labels: async () => new Int32Array(pairs.length).fill(-1),
        async get(indices) {
          const px = height * width;
          const images = new Uint8Array(indices.length * px * 3);
          const labels = new Int32Array(indices.length * px);
          await Promise.all(
            indices.map(async (i, k) => {
              const pair = await readSegmentationPair(tree, pairs[i]!, decodeImageBrowser);
              if (pair.height !== height || pair.width !== width) throw new Error(`${pairs[i]!.image}: ${pair.height}x${pair.width}, the model takes ${height}x${width}`);
              images.set(pair.image, k * px * 3);
              labels.set(pair.label, k * px);
            }),
          );
          return { images, labels };
        },
      };
      const clean = cached(frames, budget);
      let frost: Promise<FrostOverlays> | undefined;
      return {
        async domain(corruption, severity) {
          if (!isCorruptionName(corruption)) throw new Error(`unknown corruption '${corruption}'`);
          if (corruption === 'frost') frost ??= loadFrostOverlaysFromUrl('/corruptions/');
          return corruptedSource(clean, corruption, severityOf(severity), { seed: CORRUPTION_DATA_SEED, frost: corruption === 'frost' ? await frost : undefined });
        },
      };
    }
    case 'imagenet-c': {
      // Labels follow the standard (synset-sorted) order of the 1000 wnids, whatever subset the folders hold.
      const wnids = parseSynsetWords(new TextDecoder().decode(await fetchBytes('/samples/imagenet/synset_words.txt')));
      const tree = httpTree(spec.url);
      return {
        outliers,
        async domain(corruption, severity) {
          const files = await listImageNetC(tree, '', corruption, severityOf(severity), wnids);
          return fileImageSource(`${corruption}-${severity}`, files, tree, decodeImageBrowser, height, width);
        },
      };
    }
    default:
      throw new Error(`dataset kind '${spec.kind}' is not supported by the benchmark runner yet (supported: cifar10c, cifar10c-npy, mini-imagenet-c, imagenet-c)`);
  }
}
