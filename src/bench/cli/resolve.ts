/**
 * From CLI options to a BenchConfig: find the model file and its card, the data files and
 * their kind, and the folders the server has to mount.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { cardPreprocess, parseModelCard, type ModelCard } from '../../model/cards.ts';
import { MOUNT_PREFIX } from './serve.ts';
import type { CliOptions } from './args.ts';
import type { BenchConfig, DatasetKind, DatasetSpec, ModelSpec } from '../types.ts';

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

export function resolveModel(root: string, opts: Pick<CliOptions, 'model' | 'card'>): { spec: ModelSpec; dir: string } {
  const isName = !/[\\/]/.test(opts.model) && extname(opts.model) === '';
  const file = isName ? join(root, 'models', `${opts.model}.onnx`) : resolve(opts.model);
  if (!existsSync(file)) {
    const shipped = readdirSync(join(root, 'models')).filter((f) => f.endsWith('.onnx')).map((f) => f.replace(/\.onnx$/, ''));
    throw new Error(`model ${opts.model}: ${file} not found${isName ? ` (shipped models: ${shipped.join(', ')})` : ''}`);
  }
  if (extname(file) !== '.onnx') throw new Error(`model ${file}: only ONNX models (.onnx) are supported by the benchmark yet`);
  const cardPath = opts.card ? resolve(opts.card) : file.replace(/\.onnx$/, '.json');
  if (!existsSync(cardPath)) throw new Error(`model card ${cardPath} not found: pass --card <file.json> (task, input size, classes)`);
  const card = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath);
  const { files: _files, training: _training, ...summary } = card;
  const spec: ModelSpec = {
    name: card.name,
    format: 'onnx',
    url: `${MOUNT_PREFIX}model/${encodeURIComponent(basename(file))}`,
    task: card.task,
    inputShape: [card.input.height, card.input.width, card.input.channels],
    numClasses: card.output.classes,
    methodDefaults: methodDefaultsFor(card),
    card: summary as unknown as Record<string, unknown>,
  };
  const pre = cardPreprocess(card);
  if (pre) throw new Error(`model ${card.name}: cards with input mean/std are not supported by the benchmark yet`);
  return { spec, dir: dirname(file) };
}

/** The clean CIFAR-10 test file inside a folder: test_batch.bin, else the only .bin file. */
function cifarFile(dir: string): string | undefined {
  if (existsSync(join(dir, 'test_batch.bin'))) return 'test_batch.bin';
  const bins = readdirSync(dir).filter((f) => f.endsWith('.bin') && !f.startsWith('data_batch'));
  return bins.length === 1 ? bins[0] : undefined;
}

export function resolveData(opts: Pick<CliOptions, 'data' | 'dataset'>): { spec: DatasetSpec; dir: string } {
  const path = resolve(opts.data);
  if (!existsSync(path)) throw new Error(`--data ${opts.data}: ${path} does not exist`);
  const isFile = statSync(path).isFile();
  const dir = isFile ? dirname(path) : path;
  let kind: DatasetKind | undefined = opts.dataset;
  if (!kind) {
    if (!isFile && existsSync(join(dir, 'labels.npy'))) kind = 'cifar10c-npy';
    else if (isFile ? path.endsWith('.bin') : cifarFile(dir)) kind = 'cifar10c';
    else throw new Error(`--data ${opts.data}: cannot tell the data set kind (no labels.npy, no CIFAR-10 .bin file): pass --dataset`);
  }
  const spec: DatasetSpec = { kind, url: `${MOUNT_PREFIX}data`, source: path };
  if (kind === 'cifar10c') {
    const file = isFile ? basename(path) : cifarFile(dir);
    if (!file) throw new Error(`--data ${opts.data}: no test_batch.bin (or single .bin file) with the clean CIFAR-10 test images`);
    spec.file = file;
  } else if (kind === 'cifar10c-npy') {
    if (!existsSync(join(dir, 'labels.npy'))) throw new Error(`--data ${opts.data}: no labels.npy (official CIFAR-10-C layout expected)`);
  }
  return { spec, dir };
}

export function resolveConfig(root: string, opts: CliOptions, methods: string[]): Resolved {
  const model = resolveModel(root, opts);
  const data = resolveData(opts);
  if (data.spec.kind.startsWith('cifar10c') && model.spec.numClasses !== 10) {
    throw new Error(`model ${model.spec.name} has ${model.spec.numClasses} classes, ${data.spec.kind} has 10`);
  }
  const config: BenchConfig = {
    model: model.spec,
    methods,
    settings: opts.settings,
    dataset: data.spec,
    corruptions: opts.corruptions,
    order: opts.order,
    severities: opts.severities,
    n: opts.n,
    batchSize: opts.batchSize,
    seeds: opts.seeds,
    backend: opts.backend,
    overrides: opts.overrides,
    ortBaseline: opts.ortBaseline,
    forwardBatches: 5,
  };
  if (opts.openSet > 0) config.openSet = { share: opts.openSet };
  return { config, mounts: { model: model.dir, data: data.dir } };
}
