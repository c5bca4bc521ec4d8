// Browser side of e2e/corruptions.test.ts: corruptions, decoders, folder trees and streams in the page.
import { parseCifarBatch } from '../../src/data/cifar.ts';
import { fetchBytes, loadFrostOverlaysFromUrl } from '../../src/data/browser.ts';
import { ALL_CORRUPTIONS, corrupt, corruptionRng, type FrostOverlays, type Severity } from '../../src/data/corruptions/index.ts';
import { decodeImageBrowser } from '../../src/data/decode-browser.ts';
import { directoryHandleTree, urlByteSource } from '../../src/data/files.ts';
import { listLabelledFolder } from '../../src/data/folders.ts';
import { imageFromUint8, imageToUint8 } from '../../src/data/image.ts';
import { fileImageSource, npyCorruptionSource } from '../../src/stream/file-sources.ts';
import { corruptedSource, memorySource } from '../../src/stream/source.ts';
import { buildStream } from '../../src/stream/stream.ts';

const toB64 = (bytes: Uint8Array) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const fromB64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

let frost: FrostOverlays | undefined;
async function overlays(): Promise<FrostOverlays> {
  frost ??= await loadFrostOverlaysFromUrl();
  return frost;
}

/** Every corruption x severity of one CIFAR image, as base64 of the concatenated uint8 images. */
export async function corruptOne(cifarUrl: string, index: number, seed: number) {
  const cifar = parseCifarBatch(await fetchBytes(cifarUrl));
  const f = await overlays();
  const clean = imageFromUint8(cifar.data.subarray(index * 3072, (index + 1) * 3072), 32, 32);
  const out = new Uint8Array(ALL_CORRUPTIONS.length * 5 * 3072);
  const t0 = performance.now();
  ALL_CORRUPTIONS.forEach((name, c) => {
    for (let s = 1; s <= 5; s++) {
      const img = corrupt(name, clean, s as Severity, { rng: corruptionRng(seed, name, s as Severity, index), frost: f });
      imageToUint8(img, out.subarray((c * 5 + s - 1) * 3072, (c * 5 + s) * 3072));
    }
  });
  return { b64: toB64(out), ms: performance.now() - t0, frostSizes: f.originals.map((o) => [o.height, o.width]) };
}

/** Decode a file with the browser's codecs. */
export async function decodeWithBrowser(url: string) {
  const d = await decodeImageBrowser(await fetchBytes(url), url);
  return { height: d.height, width: d.width, b64: toB64(d.data) };
}

/** Write a two-class folder of PNGs into the origin-private file system, then read it back as a labelled source. */
export async function opfsFolder(pngB64: string) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle('webtta-e2e', { create: true });
  for (const cls of ['cat', 'dog']) {
    const dir = await top.getDirectoryHandle(cls, { create: true });
    for (const name of ['1.png', '2.png']) {
      const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await w.write(fromB64(pngB64) as Uint8Array<ArrayBuffer>);
      await w.close();
    }
  }
  const tree = directoryHandleTree(top);
  const files = await listLabelledFolder(tree, '');
  const src = fileImageSource('opfs', files, tree, decodeImageBrowser, 8, 8);
  const items = await src.get([3, 0]);
  await root.removeEntry('webtta-e2e', { recursive: true });
  return { paths: files.map((f) => f.path), labels: Array.from(items.labels), first: Array.from(items.images.subarray(0, 6)) };
}

/** A continual on-the-fly corrupted stream in the page: summary of its batches. */
export async function streamSummary(cifarUrl: string) {
  const cifar = parseCifarBatch(await fetchBytes(cifarUrl));
  const clean = memorySource('clean', { ...cifar, n: 40, data: cifar.data.subarray(0, 40 * 3072), labels: cifar.labels.subarray(0, 40) });
  const domains = (['gaussian_noise', 'fog'] as const).map((c) => ({ name: c, source: corruptedSource(clean, c, 5, { seed: 1 }) }));
  const s = await buildStream(domains, { setting: 'reset_each_shift', batchSize: 16, seed: 2 });
  const batches = [];
  for await (const b of s) {
    batches.push({ n: b.n, reset: b.reset, labels: Array.from(b.labels), sum: b.images.reduce((a, v) => a + v, 0) });
  }
  return batches;
}

/** Images [indices] of severity `severity` of a CIFAR-10-C .npy served over HTTP, read with Range requests. */
export async function npyOverHttp(url: string, labels: number[], severity: 1 | 2 | 3 | 4 | 5, indices: number[]) {
  const src = await npyCorruptionSource('fog', urlByteSource(url), Int32Array.from(labels), severity);
  const items = await src.get(indices);
  return { size: src.size, labels: Array.from(items.labels), b64: toB64(items.images) };
}
