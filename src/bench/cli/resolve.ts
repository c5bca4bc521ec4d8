/**
 * From CLI options to a BenchConfig: find the model file and its card, the data files and
 * their kind, and the folders the server has to mount.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { cardPreprocess, parseModelCard, type ModelCard } from '../../model/cards.ts';
import { MOUNT_PREFIX } from './serve.ts';
import { batchSizesFor } from '../methods.ts';
import type { CliOptions } from './args.ts';
import type { BenchConfig, DatasetKind, DatasetSpec, ModelSpec } from '../types.ts';

/** Forward-only throughput batch without --batch (the benchmark's earlier default, so figures stay comparable). */
const FORWARD_BATCH = 64;

export interface Resolved {
  config: BenchConfig;
  mounts: Record<string, string>;
}

function methodDefaultsFor(card: ModelCard): ModelSpec['methodDefaults'] {
  if (card.task === 'segmentation') return 'camvid';
  if (card.output.classes === 10) return 'cifar10';
  if (card.output.classes === 100) return 'cifar100';
  return 'imagenet';
}

/**
 * A shipped name (models/<name>.json card; the model file is the card's 'model' file), an
 * .onnx file (card: the .json next to it, or --card), or a TF.js layers model.json / its folder
 * (card: --card, or <folder>.json next to the folder).
 */
export function resolveModel(root: string, opts: Pick<CliOptions, 'model' | 'card'>): { spec: ModelSpec; dir: string } {
  const isName = !/[\\/]/.test(opts.model) && extname(opts.model) === '';
  let file: string;
  let cardPath: string;
  if (isName) {
    cardPath = opts.card ? resolve(opts.card) : join(root, 'models', `${opts.model}.json`);
    if (!existsSync(cardPath)) {
      const shipped = readdirSync(join(root, 'models')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
      throw new Error(`model ${opts.model}: no card ${cardPath} (shipped models: ${shipped.join(', ')})`);
    }
    const card = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath);
    const entry = card.files.find((f) => f.role === 'model');
    if (!entry) throw new Error(`model card ${cardPath} lists no file with role 'model'`);
    file = join(dirname(cardPath), entry.path);
  } else {
    file = resolve(opts.model);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'model.json');
    const base = basename(file) === 'model.json' ? dirname(file) : file.replace(/\.onnx$/, '');
    cardPath = opts.card ? resolve(opts.card) : `${base}.json`;
  }
  if (!existsSync(file)) throw new Error(`model ${opts.model}: ${file} not found`);
  const format = extname(file) === '.onnx' ? 'onnx' : basename(file) === 'model.json' ? 'tfjs-layers' : undefined;
  if (!format) throw new Error(`model ${file}: expected an .onnx file or a TF.js layers model.json`);
  if (!existsSync(cardPath)) throw new Error(`model card ${cardPath} not found: pass --card <file.json> (task, input size, classes)`);
  const card = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath);
  if (cardPreprocess(card)) throw new Error(`model ${card.name}: cards with input mean/std are not supported by the benchmark yet`);
  if (card.output.outputOrder === 'label-map') throw new Error(`model ${card.name}: outputs in a label-map order are not supported by the benchmark yet`);
  const { files: _files, training: _training, ...summary } = card;
  const spec: ModelSpec = {
    name: card.name,
    format,
    url: `${MOUNT_PREFIX}model/${encodeURIComponent(basename(file))}`,
    task: card.task,
    inputShape: [card.input.height, card.input.width, card.input.channels],
    numClasses: card.output.classes,
    methodDefaults: methodDefaultsFor(card),
    card: summary as unknown as Record<string, unknown>,
  };
  if (card.ignoreIndex !== undefined) spec.ignoreLabel = card.ignoreIndex;
  return { spec, dir: dirname(file) };
}

/** The clean CIFAR-10 test file inside a folder: test_batch.bin, else the only .bin file. */
function cifarFile(dir: string): string | undefined {
  if (existsSync(join(dir, 'test_batch.bin'))) return 'test_batch.bin';
  const bins = readdirSync(dir).filter((f) => f.endsWith('.bin') && !f.startsWith('data_batch'));
  return bins.length === 1 ? bins[0] : undefined;
}

const LIST_FILES = ['labels.txt', 'labels_1000class.txt'];

/** CamVid layout: '' when images/ and labels/ are in the folder itself, 'test' for the full data set's test split. */
function camvidSplit(dir: string): string | undefined {
  return ['', 'test'].find((split) => existsSync(join(dir, split, 'images')) && existsSync(join(dir, split, 'labels')));
}

export function resolveData(opts: Pick<CliOptions, 'data' | 'dataset' | 'corruptions'>): { spec: DatasetSpec; dir: string } {
  const path = resolve(opts.data);
  if (!existsSync(path)) throw new Error(`--data ${opts.data}: ${path} does not exist`);
  const isFile = statSync(path).isFile();
  const dir = isFile ? dirname(path) : path;
  const listFile = isFile ? (path.endsWith('.txt') ? basename(path) : undefined) : LIST_FILES.find((f) => existsSync(join(dir, f)));
  let kind: DatasetKind | undefined = opts.dataset;
  if (!kind) {
    if (!isFile && existsSync(join(dir, 'labels.npy'))) kind = 'cifar10c-npy';
    else if (isFile ? path.endsWith('.bin') : cifarFile(dir)) kind = 'cifar10c';
    else if (listFile) kind = 'mini-imagenet-c';
    else if (camvidSplit(dir) !== undefined) kind = 'camvid-c';
    else if (!isFile && existsSync(join(dir, opts.corruptions[0]!))) kind = 'imagenet-c';
    else throw new Error(`--data ${opts.data}: cannot tell the data set kind (no labels.npy, CIFAR-10 .bin, labels.txt or <corruption>/ folder): pass --dataset`);
  }
  const spec: DatasetSpec = { kind, url: `${MOUNT_PREFIX}data`, source: path };
  if (kind === 'cifar10c') {
    const file = isFile ? basename(path) : cifarFile(dir);
    if (!file) throw new Error(`--data ${opts.data}: no test_batch.bin (or single .bin file) with the clean CIFAR-10 test images`);
    spec.file = file;
  } else if (kind === 'cifar10c-npy') {
    if (!existsSync(join(dir, 'labels.npy'))) throw new Error(`--data ${opts.data}: no labels.npy (official CIFAR-10-C layout expected)`);
  } else if (kind === 'mini-imagenet-c') {
    if (!listFile) throw new Error(`--data ${opts.data}: no ${LIST_FILES.join(' or ')} list of '<image path>, <label>' lines`);
    spec.file = listFile;
  } else if (kind === 'camvid-c') {
    const split = camvidSplit(dir);
    if (split === undefined) throw new Error(`--data ${opts.data}: no images/ + labels/ folders (or test/images, test/labels) of CamVid PNG pairs`);
    spec.file = split;
  } else if (kind === 'imagenet-c') {
    for (const c of opts.corruptions) if (!existsSync(join(dir, c))) throw new Error(`--data ${opts.data}: no folder ${c}/ (ImageNet-C layout <corruption>/<severity>/<wnid>/*.JPEG)`);
  } else {
    throw new Error(`--dataset ${kind} is not supported by the benchmark yet`);
  }
  return { spec, dir };
}

export function resolveConfig(root: string, opts: CliOptions, methods: string[]): Resolved {
  const model = resolveModel(root, opts);
  const data = resolveData(opts);
  const classes = data.spec.kind.startsWith('cifar10c') ? 10 : data.spec.kind === 'camvid-c' ? 11 : 1000;
  if ((data.spec.kind === 'camvid-c') !== (model.spec.task === 'segmentation')) throw new Error(`model ${model.spec.name} (${model.spec.task}) does not fit data set ${data.spec.kind}`);
  if (model.spec.numClasses !== classes) throw new Error(`model ${model.spec.name} has ${model.spec.numClasses} classes, ${data.spec.kind} has ${classes}`);
  if (opts.ortBaseline && model.spec.format !== 'onnx') throw new Error('--ort-baseline needs an ONNX model');
  const config: BenchConfig = {
    model: model.spec,
    methods,
    settings: opts.settings,
    dataset: data.spec,
    corruptions: opts.corruptions,
    order: opts.order,
    severities: opts.severities,
    n: opts.n,
    batchSizes: batchSizesFor(methods, model.spec.methodDefaults, opts.batchSize),
    seeds: opts.seeds,
    backend: opts.backend,
    overrides: opts.overrides,
    ortBaseline: opts.ortBaseline,
    forwardBatches: 5,
    forwardBatchSize: opts.batchSize ?? FORWARD_BATCH,
  };
  if (opts.batchSize !== undefined) config.batchSize = opts.batchSize;
  if (opts.batchRange) config.batchRange = opts.batchRange;
  if (opts.openSet > 0) config.openSet = { share: opts.openSet };
  return { config, mounts: { model: model.dir, data: data.dir } };
}
