/**
 * Browser side of e2e/models.test.ts: load a shipped model from its card through our
 * runtime and measure it on its shipped sample (public/samples), as scripts/eval-models.ts
 * does in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../../src/runtime/wasm-paths.ts';
import { loadModelCard, type CardAccuracy, type CardFileReader } from '../../src/model/cards.ts';
import { cardModel, evalClassifier, evalSegmenter, loadCamvidFrames, loadLabelledList } from '../../src/model/card-eval.ts';
import { parseCifarBatch } from '../../src/data/cifar.ts';
import { sniffFormat, toRgb, type ImageDecoder } from '../../src/data/decode.ts';
import { decodeImageBrowser } from '../../src/data/decode-browser.ts';
import { decodeJpeg } from '../../src/data/corruptions/jpeg.ts';

const fetchFrom = (base: string): CardFileReader => async (path) => {
  const res = await fetch(`${base}/${path}`);
  if (!res.ok) throw new Error(`GET ${base}/${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
};

// JPEGs through jpeg-js, as in Node, so both see identical pixels; PNGs are lossless anyway.
const decode: ImageDecoder = async (bytes, what) => {
  if (sniffFormat(bytes) !== 'jpeg') return decodeImageBrowser(bytes, what);
  const img = decodeJpeg(bytes, what);
  return toRgb(img.data, img.height, img.width, 4);
};

export interface SampleResult {
  backend: string;
  card: { status: string; accuracy: readonly CardAccuracy[] };
  measured: { metric: string; value: number; correct?: number; count: number }[];
  tensorsBefore: number;
  tensorsAfter: number;
  seconds: number;
}

export async function evalSample(name: string, backend: BackendName): Promise<SampleResult> {
  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const { card, files } = await loadModelCard(name, fetchFrom('/models'));
  const samples = fetchFrom('/samples');
  const t0 = performance.now();
  const model = await cardModel(card, files);
  const tensorsBefore = tf.memory().numTensors;
  const measured: SampleResult['measured'] = [];
  if (card.task === 'segmentation') {
    const names = new TextDecoder().decode(await samples('camvid/frames.txt')).split('\n').map((l) => l.trim()).filter(Boolean);
    const set = await loadCamvidFrames(samples, 'camvid', names, decode);
    const s = await evalSegmenter(model.forward, set, card.output.classes, card.ignoreIndex ?? -1);
    measured.push({ metric: 'miou', value: s.mIoU / 100, count: set.n });
  } else {
    const set = name.startsWith('cifar10')
      ? parseCifarBatch(await samples('cifar10/test_canonical_0-999.bin'))
      : await loadLabelledList(samples, 'imagenet', 'labels.txt', decode);
    const r = await evalClassifier(model.forward, set, [card.input.height, card.input.width]);
    measured.push({ metric: 'top1', value: r.top1 / r.count, correct: r.top1, count: r.count });
  }
  const tensorsAfter = tf.memory().numTensors;
  model.dispose();
  return { backend: info.backend, card, measured, tensorsBefore, tensorsAfter, seconds: (performance.now() - t0) / 1000 };
}
