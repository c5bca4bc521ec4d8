/**
 * `npm run bench -- [options]`: command-line options to a validated set of choices.
 * Paths stay as given here; the CLI resolves them to served URLs.
 */
import { BENCHMARK_CORRUPTIONS, isCorruptionName } from '../../data/corruptions/index.ts';
import type { BackendChoice } from '../../runtime/backend.ts';
import { DATASET_KINDS, SETTINGS, type DatasetKind, type Setting } from '../types.ts';
import type { BatchRange } from '../../stream/stream.ts';

export const DEFAULT_METHODS = ['source', 'bn', 'tent', 'eata', 'cotta', 'rotta', 'stamp'];
export const DEFAULT_MODEL = 'cifar10-resnet26';
export const DEFAULT_DATA = 'public/samples/cifar10';
/**
 * Images per corruption of the default quick run: 7 methods x 15 domains x 32 images; CoTTA and STAMP (~0.4-1 s per image on 2 cores) dominate its time.
 * Batches larger than this (the published 200 on CIFAR) become one batch of 32 per domain.
 */
export const DEFAULT_N = 32;
const BACKENDS = ['auto', 'wasm', 'webgpu', 'webgl', 'cpu'] as const;

export interface CliOptions {
  model: string;
  /** Model card path (default: next to the model). */
  card?: string;
  /** Method names, or ['all'] to expand from the registry. */
  methods: string[];
  settings: Setting[];
  dataset?: DatasetKind;
  data: string;
  corruptions: string[];
  /** 'given' keeps --corruptions' order; 'shuffled' draws one order per seed. */
  order: 'given' | 'shuffled';
  severities: number[];
  n: number;
  /** One batch size for every method; absent: each method's published size (MethodInfo.defaultBatchSize). */
  batchSize?: number;
  /** --batch MIN-MAX: each batch's size drawn from this range (seeded), for every method (soak runs). */
  batchRange?: BatchRange;
  seeds: number[];
  backend: BackendChoice;
  /** method -> key -> value, from --set method.key=value. */
  overrides: Record<string, Record<string, unknown>>;
  ortBaseline: boolean;
  /** Open-set: share of outlier images in every domain's stream (0 = closed set). */
  openSet: number;
  out?: string;
  verbose: boolean;
  /** Serve the sources through the Vite dev server instead of a production build. */
  dev: boolean;
  port: number;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --model <name|file.onnx|dir/model.json>  shipped model name or a path (default ${DEFAULT_MODEL})
  --card <file.json>          model card (default: models/<name>.json, or <model>.json next to the file)
  --methods <a,b,...|all>     TTA methods (default ${DEFAULT_METHODS.join(',')})
  --setting <s,...>           ${SETTINGS.join(' | ')} (default continual)
  --dataset <kind>            ${DATASET_KINDS.join(' | ')} (default: from --data)
  --data <path>               CIFAR-10 folder/test_batch.bin, CIFAR-10-C .npy folder, ... (default ${DEFAULT_DATA})
  --corruptions <a,b,...|all|extra>  corruptions in stream order (default: the 15 benchmark ones)
  --order <given|shuffled>    keep the order above or shuffle it per seed (default given)
  --severities <5|1,2,...>    severities (default 5)
  --n <N>                     images per corruption and severity (default ${DEFAULT_N})
  --batch <B|MIN-MAX>         one batch size for every method (default: each method's published size
                              for the data set: CIFAR 200, RoTTA and STAMP 64; ImageNet 64; CamVid 64);
                              MIN-MAX draws each batch's size from the range (seeded; soak runs)
  --seeds <1,2,...>           seeds, one run each (default 1)
  --backend <${BACKENDS.join('|')}>   tfjs backend (default auto)
  --set <method.key=value>    hyper-parameter override, repeatable (e.g. --set tent.lr=0.0005)
  --open-set <share>          mix outliers (noise, ImageNet sample images, CamVid crops) into each
                              domain, e.g. 0.2; adds AUROC and H-score (outlier score: the method's,
                              else prediction entropy)
  --ort-baseline              also time forward passes of the ONNX model in onnxruntime-web
  --out <dir>                 output folder (default bench-results/<timestamp>); rerun with the same
                              --out to resume an interrupted run
  --dev                       serve through the Vite dev server (no build)
  --port <p>                  server port (default: any free one)
  --verbose                   detailed log
  --help`;

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function intList(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number[] {
  const xs = list(v).map((s) => {
    const x = Number(s);
    if (!Number.isInteger(x) || x < min || x > max) throw new Error(`${flag}: '${s}' is not an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}`);
    return x;
  });
  if (xs.length === 0) throw new Error(`${flag}: empty list`);
  return xs;
}

/** JSON-ish values for overrides: numbers, booleans, JSON arrays/objects, else the string. */
export function parseValue(v: string): unknown {
  if (v === 'true' || v === 'false') return v === 'true';
  if (v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (/^[[{"]/.test(v)) {
    try {
      return JSON.parse(v);
    } catch {
      throw new Error(`--set: value ${v} looks like JSON but does not parse`);
    }
  }
  return v;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    model: DEFAULT_MODEL,
    methods: DEFAULT_METHODS,
    settings: ['continual'],
    data: DEFAULT_DATA,
    corruptions: [...BENCHMARK_CORRUPTIONS],
    order: 'given',
    severities: [5],
    n: DEFAULT_N,
    seeds: [1],
    backend: 'auto',
    overrides: {},
    ortBaseline: false,
    openSet: 0,
    verbose: false,
    dev: false,
    port: 0,
    help: false,
  };
  const flags = new Set(['--ort-baseline', '--verbose', '--dev', '--help', '-h']);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (flags.has(arg) && value !== undefined) throw new Error(`${arg} takes no value`);
    switch (arg) {
      case '--model': o.model = next(); break;
      case '--card': o.card = next(); break;
      case '--methods': case '--method': o.methods = list(next()); break;
      case '--setting': case '--settings': {
        const s = list(next());
        for (const x of s) if (!(SETTINGS as readonly string[]).includes(x)) throw new Error(`${arg}: unknown setting '${x}' (known: ${SETTINGS.join(', ')})`);
        o.settings = s as Setting[];
        break;
      }
      case '--dataset': {
        const d = next();
        if (!(DATASET_KINDS as readonly string[]).includes(d)) throw new Error(`--dataset: unknown kind '${d}' (known: ${DATASET_KINDS.join(', ')})`);
        o.dataset = d as DatasetKind;
        break;
      }
      case '--data': o.data = next(); break;
      case '--corruptions': case '--corruption': {
        const v = next();
        const names = v === 'all' ? [...BENCHMARK_CORRUPTIONS] : v === 'extra' ? ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate'] : list(v);
        for (const c of names) if (!isCorruptionName(c)) throw new Error(`--corruptions: unknown corruption '${c}'`);
        if (new Set(names).size !== names.length) throw new Error(`--corruptions: '${v}' lists a corruption twice`);
        o.corruptions = names;
        break;
      }
      case '--order': {
        const v = next();
        if (v !== 'given' && v !== 'shuffled') throw new Error(`--order: expected given or shuffled, got '${v}'`);
        o.order = v;
        break;
      }
      case '--severities': case '--severity': o.severities = intList(arg, next(), 1, 5); break;
      case '--n': o.n = intList(arg, next(), 1)[0]!; break;
      case '--batch': case '--batch-size': {
        const v = next();
        const range = /^(\d+)-(\d+)$/.exec(v);
        if (range) {
          const [min, max] = [Number(range[1]), Number(range[2])];
          if (min < 1 || max < min) throw new Error(`${arg}: range '${v}' must be MIN-MAX with 1 <= MIN <= MAX`);
          o.batchRange = { min, max };
        } else {
          o.batchSize = intList(arg, v, 1)[0]!;
        }
        break;
      }
      case '--seeds': case '--seed': o.seeds = intList(arg, next(), 0, 2 ** 32 - 1); break;
      case '--backend': {
        const b = next();
        if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`--backend: unknown backend '${b}' (known: ${BACKENDS.join(', ')})`);
        o.backend = b as BackendChoice;
        break;
      }
      case '--set': {
        const v = next();
        const m = /^([\w-]+)\.(\w+)=(.*)$/.exec(v);
        if (!m) throw new Error(`--set: expected method.key=value, got '${v}'`);
        (o.overrides[m[1]!] ??= {})[m[2]!] = parseValue(m[3]!);
        break;
      }
      case '--ort-baseline': o.ortBaseline = true; break;
      case '--open-set': {
        const v = next();
        const share = Number(v);
        if (!(share >= 0 && share < 1)) throw new Error(`--open-set: share of outliers must be in [0, 1), got '${v}'`);
        o.openSet = share;
        break;
      }
      case '--out': o.out = next(); break;
      case '--verbose': o.verbose = true; break;
      case '--dev': o.dev = true; break;
      case '--port': o.port = intList(arg, next(), 0, 65535)[0]!; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option '${arg}' (see --help)`);
    }
  }
  if (o.methods.length === 0) throw new Error('--methods: empty list');
  for (const m of Object.keys(o.overrides)) {
    if (o.methods[0] !== 'all' && !o.methods.includes(m)) throw new Error(`--set ${m}.*: method '${m}' is not in --methods (${o.methods.join(', ')})`);
  }
  return o;
}
