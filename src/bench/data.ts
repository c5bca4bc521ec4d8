/**
 * Where the benchmark's images come from, read inside the worker over HTTP from the CLI's
 * server: CIFAR-10-C generated on the fly from a clean CIFAR-10 test file (the same bytes
 * as `npm run make-cifar10c` with its default seed 0), or official CIFAR-10-C .npy files
 * read by byte ranges.
 */
import { parseCifarBatch, type Uint8Images } from '../data/cifar.ts';
import { checkCorruptionHeader, corruptRange } from '../data/cifar10c.ts';
import { isCorruptionName, loadFrostOverlays, type FrostOverlays, type Severity } from '../data/corruptions/index.ts';
import { decodeImageBrowser } from '../data/decode-browser.ts';
import { parseNpyHeader, readNpy, toNumbers } from '../data/npy.ts';
import * as tf from '@tensorflow/tfjs';
import type { SourceDataProvider } from '../methods/shared/fisher.ts';
import type { DataSource, DomainData } from './protocol.ts';
import type { DatasetSpec } from './types.ts';

/** Seed of the generated corruptions: make-cifar10c's default, so generated files and on-the-fly data agree. */
export const CORRUPTION_DATA_SEED = 0;

export async function fetchBytes(url: string, range?: [number, number]): Promise<Uint8Array> {
  const res = await fetch(url, range ? { headers: { Range: `bytes=${range[0]}-${range[1] - 1}` } } : undefined);
  if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (range && bytes.length !== range[1] - range[0]) {
    throw new Error(`${url}: asked for bytes ${range[0]}..${range[1]} and got ${bytes.length} bytes (file too short, or the server ignores Range)`);
  }
  return bytes;
}

function inMemory(images: Uint8Images, n: number): DomainData {
  const px = images.height * images.width * 3;
  return {
    n: Math.min(n, images.n),
    async batch(indices) {
      const data = new Uint8Array(indices.length * px);
      indices.forEach((i, k) => data.set(images.data.subarray(i * px, (i + 1) * px), k * px));
      return { images: { data, shape: [indices.length, images.height, images.width, 3] }, labels: indices.map((i) => images.labels[i]!) };
    },
  };
}

export interface BenchData extends DataSource {
  /** Clean labelled-domain images (EATA's Fisher information), where the data set has them. */
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

function severityOf(s: number): Severity {
  if (!Number.isInteger(s) || s < 1 || s > 5) throw new Error(`severity must be 1..5, got ${s}`);
  return s as Severity;
}

/** `n`: the images per domain the benchmark needs (only these are generated or read). */
export async function openDataSource(spec: DatasetSpec, n: number, frostBaseUrl: string): Promise<BenchData> {
  switch (spec.kind) {
    case 'cifar10c': {
      if (!spec.file) throw new Error('cifar10c data needs the clean CIFAR-10 test file');
      const clean = parseCifarBatch(await fetchBytes(`${spec.url}/${spec.file}`), `${spec.source}/${spec.file}`);
      if (clean.n < n) throw new Error(`${spec.source}/${spec.file} has ${clean.n} images, --n asks for ${n}`);
      let frost: Promise<FrostOverlays> | undefined;
      return {
        clean: cleanProvider(clean),
        async open(corruption, severity) {
          if (!isCorruptionName(corruption)) throw new Error(`unknown corruption '${corruption}'`);
          if (corruption === 'frost') frost ??= loadFrostOverlays((f) => fetchBytes(`${frostBaseUrl}/${f}`), decodeImageBrowser);
          const data = corruptRange(clean, corruption, severityOf(severity), 0, n, CORRUPTION_DATA_SEED, corruption === 'frost' ? await frost : undefined);
          return inMemory({ n, height: clean.height, width: clean.width, data, labels: clean.labels.subarray(0, n) }, n);
        },
      };
    }
    case 'cifar10c-npy': {
      const labelBytes = await fetchBytes(`${spec.url}/labels.npy`);
      const labels = toNumbers(readNpy(labelBytes, `${spec.source}/labels.npy`).data);
      return {
        async open(corruption, severity) {
          const what = `${spec.source}/${corruption}.npy`;
          const header = parseNpyHeader(await fetchBytes(`${spec.url}/${corruption}.npy`, [0, 256]), what);
          const { perSeverity } = checkCorruptionHeader(header, what);
          if (perSeverity < n) throw new Error(`${what} has ${perSeverity} images per severity, --n asks for ${n}`);
          const px = 32 * 32 * 3;
          const begin = header.dataOffset + (severityOf(severity) - 1) * perSeverity * px;
          const data = await fetchBytes(`${spec.url}/${corruption}.npy`, [begin, begin + n * px]);
          const offset = labels.length === perSeverity ? 0 : (severity - 1) * perSeverity;
          if (labels.length !== perSeverity && labels.length !== 5 * perSeverity) throw new Error(`labels.npy has ${labels.length} labels, ${what} has ${5 * perSeverity} images`);
          return inMemory({ n, height: 32, width: 32, data, labels: Uint8Array.from(labels.slice(offset, offset + n)) }, n);
        },
      };
    }
    default:
      throw new Error(`dataset kind '${spec.kind}' is not supported by the benchmark runner yet (supported: cifar10c, cifar10c-npy)`);
  }
}
