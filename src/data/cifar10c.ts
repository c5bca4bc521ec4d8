/**
 * The official CIFAR-10-C layout: `<corruption>.npy` = uint8 [5 * N, 32, 32, 3], severities
 * 1..5 stacked N images each (in test-set order), and `labels.npy` = the N labels repeated 5 times.
 */
import { corruptMany, corruptionRng, type CorruptionName, type FrostOverlays, type Severity } from './corruptions/index.ts';
import type { Uint8Images } from './cifar.ts';
import { imageFromUint8, imageToUint8 } from './image.ts';
import { npyHeaderBytes, parseNpyHeader, readNpy, toNumbers, type NpyHeader } from './npy.ts';

export const SEVERITIES: readonly Severity[] = [1, 2, 3, 4, 5];

/** Corrupt clean images [start, end) at one severity; uint8 NHWC. Image i uses corruptionRng(seed, name, severity, i). */
export function corruptRange(
  clean: Uint8Images,
  name: CorruptionName,
  severity: Severity,
  start: number,
  end: number,
  seed: number,
  frost?: FrostOverlays,
): Uint8Array {
  const px = clean.height * clean.width * 3;
  const imgs = [];
  for (let i = start; i < end; i++) imgs.push(imageFromUint8(clean.data.subarray(i * px, (i + 1) * px), clean.height, clean.width));
  const outs = corruptMany(name, imgs, severity, { rngFor: (k) => corruptionRng(seed, name, severity, start + k), frost, params: 'cifar' });
  const bytes = new Uint8Array((end - start) * px);
  outs.forEach((o, k) => imageToUint8(o, bytes.subarray(k * px, (k + 1) * px)));
  return bytes;
}

export function corruptionFileHeader(n: number): Uint8Array {
  return npyHeaderBytes('|u1', [5 * n, 32, 32, 3]);
}

export function labelsFile(labels: Uint8Array): Uint8Array {
  const header = npyHeaderBytes('|u1', [5 * labels.length]);
  const out = new Uint8Array(header.length + 5 * labels.length);
  out.set(header);
  for (let s = 0; s < 5; s++) out.set(labels, header.length + s * labels.length);
  return out;
}

/** Check a corruption file's header against the layout; returns it with the per-severity count. */
export function checkCorruptionHeader(header: NpyHeader, what: string): { perSeverity: number } {
  const [n, h, w, c] = header.shape;
  if (header.dtype !== '|u1' || header.shape.length !== 4 || h !== 32 || w !== 32 || c !== 3 || n! % 5 !== 0) {
    throw new Error(`${what}: expected uint8 [5*N, 32, 32, 3] (CIFAR-10-C layout), got ${header.dtype} (${header.shape.join(', ')})`);
  }
  if (header.fortranOrder) throw new Error(`${what}: fortran_order=True is not the CIFAR-10-C layout`);
  return { perSeverity: n! / 5 };
}

/** One severity of a CIFAR-10-C corruption held in memory. */
export function readCifar10C(corruptionNpy: Uint8Array, labelsNpy: Uint8Array, severity: Severity, what = 'CIFAR-10-C file'): Uint8Images {
  const header = parseNpyHeader(corruptionNpy, what);
  const { perSeverity } = checkCorruptionHeader(header, what);
  const { data: labelData } = readNpy(labelsNpy, 'labels.npy');
  const labels = toNumbers(labelData);
  if (labels.length !== 5 * perSeverity && labels.length !== perSeverity) {
    throw new Error(`labels.npy has ${labels.length} labels, ${what} has ${5 * perSeverity} images`);
  }
  const px = 32 * 32 * 3;
  const begin = header.dataOffset + (severity - 1) * perSeverity * px;
  if (corruptionNpy.length < begin + perSeverity * px) throw new Error(`${what}: truncated (severity ${severity} needs bytes up to ${begin + perSeverity * px})`);
  const offset = labels.length === perSeverity ? 0 : (severity - 1) * perSeverity;
  return {
    n: perSeverity,
    height: 32,
    width: 32,
    data: corruptionNpy.slice(begin, begin + perSeverity * px),
    labels: Uint8Array.from(labels.slice(offset, offset + perSeverity)),
  };
}
