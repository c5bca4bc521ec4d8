/**
 * The built-in labelled streams, from the samples shipped under public/samples/: the 1,000
 * lossless CIFAR-10 test images, 48 ImageNet validation images, 8 CamVid frames with label
 * maps. Each yields batches forever (cycling), with the true labels.
 */
import { parseCifarBatch } from '../data/cifar.ts';
import { decodeImageBrowser } from '../data/decode-browser.ts';

export interface LabelledBatch {
  frames: CanvasImageSource[] | { data: Uint8Array; shape: [number, number, number, number] };
  /** One label per image (classification) or per pixel (segmentation). */
  labels: Uint8Array | Int32Array;
}

const base = `${import.meta.env.BASE_URL}samples/`;

async function fetchBytes(path: string): Promise<Uint8Array> {
  const res = await fetch(base + path);
  if (!res.ok) throw new Error(`sample ${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function* cifar(batchSize: number): AsyncGenerator<LabelledBatch> {
  const s = parseCifarBatch(await fetchBytes('cifar10/test_canonical_0-999.bin'), 'samples/cifar10/test_canonical_0-999.bin');
  const size = 32 * 32 * 3;
  for (let start = 0; ; start = (start + batchSize) % (s.n - batchSize + 1)) {
    yield {
      frames: { data: s.data.slice(start * size, (start + batchSize) * size), shape: [batchSize, 32, 32, 3] },
      labels: s.labels.slice(start, start + batchSize),
    };
  }
}

async function* imagenet(batchSize: number, outputIndex: (standard: number) => number): AsyncGenerator<LabelledBatch> {
  const lines = new TextDecoder().decode(await fetchBytes('imagenet/labels.txt')).trim().split('\n');
  const items = lines.map((line, i) => {
    const m = /^(.+?),\s*(\d+)$/.exec(line.trim());
    if (!m) throw new Error(`samples/imagenet/labels.txt line ${i + 1}: expected "<file>, <label>", got "${line}"`);
    return { file: `imagenet/${m[1]}`, label: outputIndex(Number(m[2])) };
  });
  const bitmaps = await Promise.all(items.map(async (it) => createImageBitmap(new Blob([(await fetchBytes(it.file)) as Uint8Array<ArrayBuffer>]))));
  for (let start = 0; ; start = (start + batchSize) % items.length) {
    const idx = Array.from({ length: batchSize }, (_, i) => (start + i) % items.length);
    yield { frames: idx.map((i) => bitmaps[i]!), labels: Int32Array.from(idx.map((i) => items[i]!.label)) };
  }
}

async function* camvid(batchSize: number): AsyncGenerator<LabelledBatch> {
  const names = new TextDecoder().decode(await fetchBytes('camvid/frames.txt')).trim().split('\n').map((s) => s.trim());
  const frames = await Promise.all(
    names.map(async (name) => {
      const img = await decodeImageBrowser(await fetchBytes(`camvid/images/${name}`), `camvid/images/${name}`);
      const lab = await decodeImageBrowser(await fetchBytes(`camvid/labels/${name}`), `camvid/labels/${name}`);
      const labels = new Int32Array(lab.height * lab.width);
      for (let p = 0; p < labels.length; p++) labels[p] = lab.data[3 * p]!;
      return { img, labels };
    }),
  );
  const { height: h, width: w } = frames[0]!.img;
  for (let start = 0; ; start = (start + batchSize) % frames.length) {
    const idx = Array.from({ length: batchSize }, (_, i) => (start + i) % frames.length);
    const data = new Uint8Array(batchSize * h * w * 3);
    const labels = new Int32Array(batchSize * h * w);
    idx.forEach((f, i) => {
      data.set(frames[f]!.img.data, i * h * w * 3);
      labels.set(frames[f]!.labels, i * h * w);
    });
    yield { frames: { data, shape: [batchSize, h, w, 3] }, labels };
  }
}

export function sampleStream(dataset: 'cifar10' | 'imagenet' | 'camvid', batchSize: number, outputIndex: (standard: number) => number = (i) => i): AsyncGenerator<LabelledBatch> {
  if (dataset === 'cifar10') return cifar(batchSize);
  if (dataset === 'imagenet') return imagenet(batchSize, outputIndex);
  return camvid(batchSize);
}
