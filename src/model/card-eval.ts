/**
 * Clean accuracy of a source model on labelled uint8 images, the way its card measures it:
 * pixels / 255 (the model applies its own scaling), bilinear resize to the model input when
 * the images differ in size (tf.image.resizeBilinear defaults), argmax / top-k of the logits.
 * Shared by scripts/eval-models.ts (Node) and the browser model test so both count alike.
 */
import * as tf from '@tensorflow/tfjs';
import { SegmentationTally, type SegmentationSummary } from '../metrics/index.ts';
import type { ImageDecoder } from '../data/decode.ts';
import { cardPreprocess, type ModelCard } from './cards.ts';
import { loadOnnxModel, loadTfjsLayersModel, type LoadOptions } from './index.ts';

export interface LabelledImages {
  readonly n: number;
  readonly height: number;
  readonly width: number;
  /** n * height * width * 3 bytes, NHWC RGB. */
  readonly data: Uint8Array;
  /** Classification: n class indices. Segmentation: n * height * width pixel labels. */
  readonly labels: ArrayLike<number>;
}

/** Logits of a batch of [0,1] RGB NHWC images. */
export type Forward = (images: tf.Tensor4D) => tf.Tensor;

/** A forward function for a carded model from its verified files (see loadModelCard), via our runtime. */
export async function cardModel(card: ModelCard, files: ReadonlyMap<string, Uint8Array>): Promise<{ forward: Forward; dispose(): void }> {
  const preprocess = cardPreprocess(card);
  const opts: LoadOptions = {
    name: card.name,
    task: card.task,
    inputShape: [card.input.height, card.input.width, 3],
    ...(preprocess ? { preprocess } : {}),
  };
  if (card.format === 'onnx') {
    const model = await loadOnnxModel(files.get(card.files.find((f) => f.role === 'model')!.path)!, opts);
    return { forward: (x) => model.forward(x).logits, dispose: () => model.dispose() };
  }
  const modelJson = JSON.parse(new TextDecoder().decode(files.get(`${card.name}/model.json`)!)) as {
    weightsManifest: { paths: string[] }[];
  };
  const shards = new Map<string, ArrayBuffer>();
  for (const path of modelJson.weightsManifest.flatMap((g) => g.paths)) {
    const bytes = files.get(`${card.name}/${path}`);
    if (!bytes) throw new Error(`model ${card.name}: weight file ${path} of model.json is not in the card`);
    shards.set(path, bytes.slice().buffer);
  }
  const model = await loadTfjsLayersModel(modelJson, shards, opts);
  return { forward: (x) => model.forward(x).logits, dispose: () => model.dispose() };
}

function batchTensor(set: LabelledImages, start: number, end: number, size: readonly [number, number]): tf.Tensor4D {
  const px = set.height * set.width * 3;
  return tf.tidy(() => {
    const x = tf.tensor4d(set.data.subarray(start * px, end * px), [end - start, set.height, set.width, 3], 'int32')
      .toFloat()
      .div(255) as tf.Tensor4D;
    return size[0] === set.height && size[1] === set.width ? x : tf.image.resizeBilinear(x, [size[0], size[1]]);
  });
}

function checkSet(set: LabelledImages, labelsPerImage: number): void {
  if (set.data.length !== set.n * set.height * set.width * 3) {
    throw new Error(`images: ${set.data.length} bytes, ${set.n} RGB images of ${set.height}x${set.width} need ${set.n * set.height * set.width * 3}`);
  }
  if (set.labels.length !== set.n * labelsPerImage) {
    throw new Error(`labels: ${set.labels.length} values, ${set.n} images need ${set.n * labelsPerImage}`);
  }
}

export interface TopKCounts {
  readonly count: number;
  readonly top1: number;
  readonly top5: number;
  /** Top-1 prediction per image (for diagnosing differences between runtimes). */
  readonly predictions: number[];
}

export async function evalClassifier(
  forward: Forward,
  set: LabelledImages,
  inputSize: readonly [number, number],
  batch = 50,
): Promise<TopKCounts> {
  checkSet(set, 1);
  let top1 = 0;
  let top5 = 0;
  const predictions: number[] = [];
  for (let start = 0; start < set.n; start += batch) {
    const end = Math.min(set.n, start + batch);
    const top = tf.tidy(() => {
      const logits = forward(batchTensor(set, start, end, inputSize));
      if (logits.rank !== 2 || logits.shape[0] !== end - start) {
        throw new Error(`classifier logits have shape [${logits.shape}], expected [${end - start}, classes]`);
      }
      return tf.topk(logits, Math.min(5, logits.shape[1]!)).indices;
    });
    const rows = (await top.array()) as number[][];
    top.dispose();
    rows.forEach((row, i) => {
      const label = set.labels[start + i]!;
      predictions.push(row[0]!);
      if (row[0] === label) top1++;
      if (row.includes(label)) top5++;
    });
  }
  return { count: set.n, top1, top5, predictions };
}

/** Segmentation logits are NHWC [N, H, W, classes] at the label resolution. */
export async function evalSegmenter(
  forward: Forward,
  set: LabelledImages,
  numClasses: number,
  ignoreIndex: number,
  batch = 8,
): Promise<SegmentationSummary> {
  checkSet(set, set.height * set.width);
  const tally = new SegmentationTally(numClasses, ignoreIndex);
  const px = set.height * set.width;
  for (let start = 0; start < set.n; start += batch) {
    const end = Math.min(set.n, start + batch);
    const pred = tf.tidy(() => {
      const logits = forward(batchTensor(set, start, end, [set.height, set.width]));
      const want = [end - start, set.height, set.width, numClasses];
      if (logits.shape.join() !== want.join()) throw new Error(`segmenter logits have shape [${logits.shape}], expected [${want}]`);
      return logits.argMax(-1);
    });
    const values = await pred.data();
    pred.dispose();
    tally.add(values, Array.prototype.slice.call(set.labels, start * px, end * px) as number[]);
  }
  return tally.summary();
}

/** Reads a file by a path relative to some root (fs in Node, fetch in a page). */
export type FileReader = (path: string) => Promise<Uint8Array>;

function stack(images: { height: number; width: number; data: Uint8Array }[], what: string): { height: number; width: number; data: Uint8Array } {
  const first = images[0];
  if (!first) throw new Error(`${what}: no images`);
  const px = first.height * first.width * 3;
  const data = new Uint8Array(images.length * px);
  images.forEach((img, i) => {
    if (img.height !== first.height || img.width !== first.width) {
      throw new Error(`${what}: image ${i} is ${img.height}x${img.width}, image 0 is ${first.height}x${first.width}`);
    }
    data.set(img.data, i * px);
  });
  return { height: first.height, width: first.width, data };
}

/**
 * CamVid frames `<dir>/images/<name>` with label maps `<dir>/labels/<name>` (8-bit class
 * index PNGs; the decoder replicates grey to RGB, so channel 0 is the label).
 */
export async function loadCamvidFrames(read: FileReader, dir: string, names: readonly string[], decode: ImageDecoder): Promise<LabelledImages> {
  const images = [];
  const labelMaps = [];
  for (const name of names) {
    images.push(await decode(await read(`${dir}/images/${name}`), `${dir}/images/${name}`));
    const lab = await decode(await read(`${dir}/labels/${name}`), `${dir}/labels/${name}`);
    const plane = new Uint8Array(lab.height * lab.width);
    for (let p = 0; p < plane.length; p++) plane[p] = lab.data[3 * p]!;
    labelMaps.push({ height: lab.height, width: lab.width, data: plane });
  }
  const x = stack(images, `${dir}/images`);
  labelMaps.forEach((l, i) => {
    if (l.height !== x.height || l.width !== x.width) throw new Error(`${dir}/labels/${names[i]}: ${l.height}x${l.width}, its image is ${x.height}x${x.width}`);
  });
  const labels = new Uint8Array(names.length * x.height * x.width);
  labelMaps.forEach((l, i) => labels.set(l.data, i * l.data.length));
  return { n: names.length, ...x, labels };
}

/** An image list of `<path>, <label>` lines (ImageNet labels_1000class.txt), paths relative to `dir`. */
export async function loadLabelledList(read: FileReader, dir: string, listFile: string, decode: ImageDecoder): Promise<LabelledImages> {
  const text = new TextDecoder().decode(await read(`${dir}/${listFile}`));
  const rows = text.split('\n').filter((l) => l.trim() !== '').map((line, i) => {
    const m = /^(.+?),\s*(\d+)\s*$/.exec(line);
    if (!m) throw new Error(`${dir}/${listFile} line ${i + 1}: expected "<path>, <label>", got ${JSON.stringify(line)}`);
    return { path: m[1]!, label: Number(m[2]) };
  });
  const images = [];
  for (const r of rows) images.push(await decode(await read(`${dir}/${r.path}`), `${dir}/${r.path}`));
  return { n: rows.length, ...stack(images, `${dir}/${listFile}`), labels: rows.map((r) => r.label) };
}
