/**
 * Model cards: `models/<name>.json` describes a shipped source model (architecture, input
 * preprocessing, class names, measured accuracy, training recipe) and pins each of its
 * files by size and sha256. Cards are written by models/train/export_*.py and by hand for
 * imported models; this module validates them and checks files against them, in Node and
 * in the browser alike (file access is passed in as a reader).
 */
import type { Task } from './types.ts';

export type CardFileRole =
  | 'model'
  | 'weights'
  | 'pytorch-state-dict'
  | 'reference'
  | 'label-map';

export interface CardFile {
  /** Path relative to the folder holding the card (models/). */
  readonly path: string;
  readonly role: CardFileRole;
  readonly bytes: number;
  readonly sha256: string;
}

export interface CardInput {
  readonly height: number;
  readonly width: number;
  readonly channels: 3;
  readonly channelOrder: 'RGB';
  /** The model expects [0,1] pixel values mapped linearly onto this range... */
  readonly range: readonly [number, number];
  /** ...then per-channel (v - mean) / std when these are set (null: none, or done in the graph). */
  readonly mean: readonly number[] | null;
  readonly std: readonly number[] | null;
  readonly note?: string;
}

export type CardMetric = 'top1' | 'top5' | 'miou' | 'pixel-accuracy';

export interface CardAccuracy {
  /** Where the numbers come from, in words. */
  readonly data: string;
  /** Stable key of the evaluated set, e.g. 'cifar10-sample' (what tests look up). */
  readonly sample: string;
  readonly metric: CardMetric;
  /** Number of correct items (classification) when the metric is a count ratio. */
  readonly correct?: number;
  /** Images evaluated. */
  readonly count: number;
  readonly value: number;
  /** Per-class IoU (segmentation), in class order. */
  readonly perClass?: readonly number[];
}

export interface ModelCard {
  readonly name: string;
  readonly status: 'final' | 'interim';
  readonly epoch?: number;
  readonly task: Task;
  readonly architecture: string;
  readonly params: number;
  readonly batchNormLayers: number;
  readonly format: 'onnx' | 'tfjs-layers';
  readonly input: CardInput;
  readonly output: {
    readonly kind: 'logits';
    readonly classes: number;
    /**
     * tfjs-layers models whose outputs are not in the standard class order: the
     * label-map file lists, for each output index, its index in `classNames`.
     */
    readonly outputOrder?: 'standard' | 'label-map';
  };
  readonly classNames: readonly string[];
  /** Segmentation: label value that marks unlabelled pixels. */
  readonly ignoreIndex?: number;
  readonly files: readonly CardFile[];
  readonly accuracy: readonly CardAccuracy[];
  readonly training: Readonly<Record<string, unknown>>;
  readonly export?: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

function fail(source: string, field: string, problem: string): never {
  throw new Error(`model card ${source}: ${field} ${problem}`);
}

function obj(v: unknown, source: string, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(source, field, 'must be an object');
  return v as Json;
}

function str(o: Json, key: string, source: string, where = key): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) fail(source, where, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function num(o: Json, key: string, source: string, where = key): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, where, `must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(o: Json, key: string, allowed: readonly T[], source: string, where = key): T {
  const v = o[key];
  if (!allowed.includes(v as T)) fail(source, where, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function numArray(v: unknown, length: number, source: string, where: string): number[] {
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(source, where, `must be ${length} finite numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function parseInput(v: unknown, source: string): CardInput {
  const o = obj(v, source, 'input');
  const perChannel = (key: 'mean' | 'std'): number[] | null =>
    o[key] === null || o[key] === undefined ? null : numArray(o[key], 3, source, `input.${key}`);
  const mean = perChannel('mean');
  const std = perChannel('std');
  if ((mean === null) !== (std === null)) fail(source, 'input.mean/std', 'must be both set or both null');
  if (std?.some((s) => s <= 0)) fail(source, 'input.std', `must be positive, got ${JSON.stringify(std)}`);
  if (o.channels !== 3) fail(source, 'input.channels', `must be 3, got ${JSON.stringify(o.channels)}`);
  const range = numArray(o.range, 2, source, 'input.range') as [number, number];
  if (!(range[1] > range[0])) fail(source, 'input.range', `must be increasing, got ${JSON.stringify(range)}`);
  return {
    height: num(o, 'height', source, 'input.height'),
    width: num(o, 'width', source, 'input.width'),
    channels: 3,
    channelOrder: oneOf(o, 'channelOrder', ['RGB'] as const, source, 'input.channelOrder'),
    range,
    mean,
    std,
    ...(typeof o.note === 'string' ? { note: o.note } : {}),
  };
}

const ROLES: readonly CardFileRole[] = ['model', 'weights', 'pytorch-state-dict', 'reference', 'label-map'];
const METRICS: readonly CardMetric[] = ['top1', 'top5', 'miou', 'pixel-accuracy'];

/** Validate a parsed card JSON; `source` (file name) appears in every error. */
export function parseModelCard(json: unknown, source: string): ModelCard {
  const o = obj(json, source, '(root)');
  const task = oneOf(o, 'task', ['classification', 'segmentation'] as const, source);
  const output = obj(o.output, source, 'output');
  const classes = num(output, 'classes', source, 'output.classes');
  const classNames = o.classNames;
  if (!Array.isArray(classNames) || classNames.length !== classes || !classNames.every((c) => typeof c === 'string')) {
    fail(source, 'classNames', `must be ${classes} strings (output.classes)`);
  }
  const files = o.files;
  if (!Array.isArray(files) || files.length === 0) fail(source, 'files', 'must be a non-empty array');
  const parsedFiles = files.map((f, i): CardFile => {
    const e = obj(f, source, `files[${i}]`);
    const sha256 = str(e, 'sha256', source, `files[${i}].sha256`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) fail(source, `files[${i}].sha256`, `is not 64 hex digits: ${sha256}`);
    return {
      path: str(e, 'path', source, `files[${i}].path`),
      role: oneOf(e, 'role', ROLES, source, `files[${i}].role`),
      bytes: num(e, 'bytes', source, `files[${i}].bytes`),
      sha256,
    };
  });
  if (!parsedFiles.some((f) => f.role === 'model')) fail(source, 'files', 'has no entry with role "model"');
  const accuracy = o.accuracy;
  if (!Array.isArray(accuracy)) fail(source, 'accuracy', 'must be an array');
  const outputOrder = output.outputOrder === undefined ? undefined : oneOf(output, 'outputOrder', ['standard', 'label-map'] as const, source, 'output.outputOrder');
  if (outputOrder === 'label-map' && !parsedFiles.some((f) => f.role === 'label-map')) {
    fail(source, 'files', 'has no "label-map" entry but output.outputOrder is "label-map"');
  }
  return {
    name: str(o, 'name', source),
    status: oneOf(o, 'status', ['final', 'interim'] as const, source),
    ...(typeof o.epoch === 'number' ? { epoch: o.epoch } : {}),
    task,
    architecture: str(o, 'architecture', source),
    params: num(o, 'params', source),
    batchNormLayers: num(o, 'batchNormLayers', source),
    format: oneOf(o, 'format', ['onnx', 'tfjs-layers'] as const, source),
    input: parseInput(o.input, source),
    output: { kind: oneOf(output, 'kind', ['logits'] as const, source, 'output.kind'), classes, ...(outputOrder ? { outputOrder } : {}) },
    classNames: classNames as string[],
    ...(typeof o.ignoreIndex === 'number' ? { ignoreIndex: o.ignoreIndex } : {}),
    files: parsedFiles,
    accuracy: accuracy.map((a, i): CardAccuracy => {
      const e = obj(a, source, `accuracy[${i}]`);
      const perClass = e.perClass === undefined ? undefined : numArray(e.perClass, classes, source, `accuracy[${i}].perClass`);
      return {
        data: str(e, 'data', source, `accuracy[${i}].data`),
        sample: str(e, 'sample', source, `accuracy[${i}].sample`),
        metric: oneOf(e, 'metric', METRICS, source, `accuracy[${i}].metric`),
        ...(typeof e.correct === 'number' ? { correct: e.correct } : {}),
        count: num(e, 'count', source, `accuracy[${i}].count`),
        value: num(e, 'value', source, `accuracy[${i}].value`),
        ...(perClass ? { perClass } : {}),
      };
    }),
    training: obj(o.training, source, 'training'),
    ...(o.export === undefined ? {} : { export: obj(o.export, source, 'export') }),
  };
}

/** The card's accuracy entry for a sample key and metric; throws when the card lacks it. */
export function cardAccuracy(card: ModelCard, sample: string, metric: CardMetric): CardAccuracy {
  const entry = card.accuracy.find((a) => a.sample === sample && a.metric === metric);
  if (!entry) throw new Error(`model card ${card.name}: no ${metric} accuracy for sample "${sample}"`);
  return entry;
}

/**
 * The card's input preprocessing as the runtime's per-channel (x - mean) / std on [0,1] RGB
 * (`LoadOptions.preprocess`): range [lo, hi] then (v - m) / s equals
 * (x - (m - lo) / (hi - lo)) / (s / (hi - lo)). Undefined when it is the identity.
 */
export function cardPreprocess(card: ModelCard): { mean: number[]; std: number[] } | undefined {
  const [lo, hi] = card.input.range;
  const mean = (card.input.mean ?? [0, 0, 0]).map((m) => (m - lo) / (hi - lo));
  const std = (card.input.std ?? [1, 1, 1]).map((s) => s / (hi - lo));
  const identity = mean.every((m) => m === 0) && std.every((s) => s === 1);
  return identity ? undefined : { mean, std };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Throws naming the file when its size or sha256 differs from the card. */
export async function verifyCardFile(card: ModelCard, file: CardFile, bytes: Uint8Array): Promise<void> {
  if (bytes.length !== file.bytes) {
    throw new Error(`model ${card.name}: ${file.path} has ${bytes.length} bytes, the card says ${file.bytes}`);
  }
  const hash = await sha256Hex(bytes);
  if (hash !== file.sha256) {
    throw new Error(`model ${card.name}: ${file.path} sha256 ${hash} differs from the card's ${file.sha256}`);
  }
}

/** Reads a file by its path relative to the models folder (fs in Node, fetch in a page). */
export type CardFileReader = (path: string) => Promise<Uint8Array>;

export interface LoadedCard {
  readonly card: ModelCard;
  /** The verified bytes of every file with one of the requested roles, by card path. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** Read `<name>.json`, validate it, then read and verify the files with the given roles. */
export async function loadModelCard(
  name: string,
  read: CardFileReader,
  roles: readonly CardFileRole[] = ['model', 'weights', 'label-map'],
): Promise<LoadedCard> {
  const source = `${name}.json`;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await read(source)));
  } catch (e) {
    throw new Error(`model card ${source}: cannot read or parse: ${(e as Error).message}`);
  }
  const card = parseModelCard(json, source);
  const files = new Map<string, Uint8Array>();
  for (const f of card.files.filter((x) => roles.includes(x.role))) {
    const bytes = await read(f.path);
    await verifyCardFile(card, f, bytes);
    files.set(f.path, bytes);
  }
  return { card, files };
}
