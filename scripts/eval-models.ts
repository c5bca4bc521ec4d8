/**
 * Reproduce the clean accuracy in the model cards (models/*.json) in Node, through our own
 * model runtime on the tfjs wasm backend.
 *
 *   npm run eval-models                                  # shipped samples only
 *   npm run eval-models -- --data ../shared/data          # + the full test sets
 *   npm run eval-models -- --data ../shared/data --only darknet-tiny --write-accuracy
 *
 * Prints card vs measured for every (model, sample, metric) and exits 1 when one differs
 * by more than its tolerance. --write-accuracy records the measured numbers in the
 * darknet-tiny card (the only card whose numbers come from Node rather than PyTorch).
 * --backend cpu|wasm (default wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelCard, type CardMetric, type ModelCard } from '../src/model/cards.ts';
import { cardModel, evalClassifier, evalSegmenter, loadCamvidFrames, loadLabelledList, type Forward, type LabelledImages } from '../src/model/card-eval.ts';
import { parseCifarBatch } from '../src/data/cifar.ts';
import { decodeImageNode } from '../src/data/decode-node.ts';
import { initBackend } from '../src/runtime/backend.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS = join(ROOT, 'models');
const SAMPLES = join(ROOT, 'public/samples');

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    only: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    'write-accuracy': { type: 'boolean', default: false },
  },
});

const readFrom = (root: string) => async (p: string) => new Uint8Array(readFileSync(join(root, p)));

interface Measured {
  sample: string;
  metric: CardMetric;
  data: string;
  count: number;
  value: number;
  correct?: number;
  perClass?: number[];
}

/** Allowed |card - measured|: argmax flips between runtimes at near-ties, a few per 1,000. */
function tolerance(m: Measured): number {
  return m.metric === 'miou' || m.metric === 'pixel-accuracy' ? 2e-3 : Math.max(2, m.count / 1000) / m.count;
}

async function classification(card: ModelCard, forward: Forward, sample: string, data: string, set: LabelledImages): Promise<Measured[]> {
  const r = await evalClassifier(forward, set, [card.input.height, card.input.width]);
  const out: Measured[] = [{ sample, metric: 'top1', data, count: r.count, correct: r.top1, value: r.top1 / r.count }];
  if (card.output.classes >= 100) out.push({ sample, metric: 'top5', data, count: r.count, correct: r.top5, value: r.top5 / r.count });
  return out;
}

async function segmentation(card: ModelCard, forward: Forward, sample: string, data: string, set: LabelledImages): Promise<Measured[]> {
  const s = await evalSegmenter(forward, set, card.output.classes, card.ignoreIndex ?? -1);
  return [
    { sample, metric: 'miou', data, count: set.n, value: s.mIoU / 100, perClass: s.classIoU.map((v) => v / 100) },
    { sample, metric: 'pixel-accuracy', data, count: set.n, value: 1 - s.pixelErrorPct / 100 },
  ];
}

const lines = (bytes: Uint8Array) => new TextDecoder().decode(bytes).split('\n').map((l) => l.trim()).filter(Boolean);

/** Every evaluation set of a model: the shipped sample, and the full test set with --data. */
async function measure(card: ModelCard, forward: Forward, dataDir: string | undefined): Promise<Measured[]> {
  const out: Measured[] = [];
  if (card.name.startsWith('cifar10')) {
    const file = 'cifar10/test_canonical_0-999.bin';
    out.push(...(await classification(card, forward, 'cifar10-sample', `public/samples/${file}`, parseCifarBatch(await readFrom(SAMPLES)(file), file))));
    if (dataDir) {
      const set = parseCifarBatch(await readFrom(dataDir)('cifar10/test_batch.bin'), 'cifar10/test_batch.bin');
      out.push(...(await classification(card, forward, 'cifar10-test-full', 'shared/data/cifar10/test_batch.bin', set)));
    }
  } else if (card.task === 'segmentation') {
    const names = lines(await readFrom(SAMPLES)('camvid/frames.txt'));
    out.push(...(await segmentation(card, forward, 'camvid-sample', 'public/samples/camvid', await loadCamvidFrames(readFrom(SAMPLES), 'camvid', names, decodeImageNode))));
    if (dataDir) {
      for (const split of ['test', 'val']) {
        const all = readdirSync(join(dataDir, 'camvid', split, 'images')).sort();
        const set = await loadCamvidFrames(readFrom(join(dataDir, 'camvid')), split, all, decodeImageNode);
        out.push(...(await segmentation(card, forward, `camvid-${split}`, `shared/data/camvid ${split}`, set)));
      }
    }
  } else {
    out.push(...(await classification(card, forward, 'imagenet-sample', 'public/samples/imagenet (48 labelled val images)', await loadLabelledList(readFrom(SAMPLES), 'imagenet', 'labels.txt', decodeImageNode))));
    if (dataDir) {
      const set = await loadLabelledList(readFrom(dataDir), 'imagenet-val-subset', 'labels_1000class.txt', decodeImageNode);
      out.push(...(await classification(card, forward, 'imagenet-val-subset', 'shared/data/imagenet-val-subset (1,300 val images, 227x227 resized to 224x224)', set)));
    }
  }
  return out;
}

function writeAccuracy(name: string, measured: Measured[]): void {
  const path = join(MODELS, `${name}.json`);
  const card = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  card.accuracy = measured.map((m) => ({
    ...m,
    data: `${m.data}; measured with scripts/eval-models.ts (tfjs ${tf.version.tfjs}, ${tf.getBackend()} backend, Node)`,
  }));
  writeFileSync(path, `${JSON.stringify(card, null, 2)}\n`);
  console.log(`wrote ${measured.length} accuracy entries into models/${name}.json`);
}

async function main(): Promise<void> {
  const backend = args.backend;
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got ${backend}`);
  await initBackend(backend);
  const dataDir = args.data ? resolve(args.data) : undefined;
  const names = readdirSync(MODELS).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
  const selected = args.only ? names.filter((n) => n === args.only) : names;
  if (selected.length === 0) throw new Error(`--only ${args.only}: no such card in models/ (have ${names.join(', ')})`);
  let failures = 0;
  for (const name of selected) {
    const { card, files } = await loadModelCard(name, readFrom(MODELS));
    const t0 = performance.now();
    const { forward, dispose } = await cardModel(card, files);
    const measured = await measure(card, forward, dataDir);
    dispose();
    console.log(`${name} (${card.status}${card.epoch ? `, epoch ${card.epoch}` : ''}) on ${tf.getBackend()}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const m of measured) {
      const cardEntry = card.accuracy.find((a) => a.sample === m.sample && a.metric === m.metric);
      const diff = cardEntry ? m.value - cardEntry.value : NaN;
      const ok = cardEntry !== undefined && Math.abs(diff) <= tolerance(m);
      if (!ok && !args['write-accuracy']) failures++;
      const counts = m.correct !== undefined ? ` (${m.correct}/${m.count})` : ` (${m.count} images)`;
      console.log(
        `  ${m.sample.padEnd(20)} ${m.metric.padEnd(15)} measured ${m.value.toFixed(4)}${counts}  card ${cardEntry ? cardEntry.value.toFixed(4) : 'none'}  ${ok ? 'ok' : 'MISMATCH'}`,
      );
    }
    if (args['write-accuracy']) {
      if (card.format !== 'tfjs-layers') throw new Error(`--write-accuracy: ${name} cards are written by its export script, not here`);
      if (!dataDir) throw new Error('--write-accuracy needs --data (the full test set numbers)');
      writeAccuracy(name, measured);
    }
  }
  if (failures > 0) {
    console.error(`${failures} measurement(s) differ from the cards`);
    process.exit(1);
  }
}

await main();
