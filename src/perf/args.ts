/** `npm run perf -- [options]`: command-line options to a validated configuration. */
import type { BackendName } from '../runtime/backend.ts';
import { STEP_KINDS, type StepKind } from './step-kinds.ts';

export const PERF_BACKENDS: readonly BackendName[] = ['wasm', 'webgpu', 'webgl', 'cpu'];

export interface PerfOptions {
  backends: BackendName[];
  batches: number[];
  steps: StepKind[];
  torch: boolean;
  /** PyTorch thread counts to measure (the fastest is the ratio's reference). */
  torchThreads: number[];
  ort: boolean;
  /** tfjs-wasm thread counts to measure, each in a fresh page (empty: one per core). */
  wasmThreads: number[];
  /** Time each case for at least this long (ms). */
  minMs: number;
  maxIters: number;
  /** A warm-up slower than this (ms) skips the larger batches of that backend. */
  maxStepMs: number;
  out?: string;
  /** The `webgpu` npm package's folder: run tfjs WebGPU in Node through Dawn instead of in Chromium. */
  dawn?: string;
  help: boolean;
}

export const PERF_USAGE = `Usage: npm run perf -- [options]

  --backends <a,b,...>   tfjs backends, in order (default ${PERF_BACKENDS.join(',')})
  --batches <n,...>      batch sizes (default 1,16,64,200)
  --steps <s,...>        ${STEP_KINDS.join(',')} (default all)
  --no-torch             skip the PyTorch CPU baseline (/usr/bin/python3 with torch)
  --torch-threads <n,..> PyTorch thread counts (default 1,2; ratios use the fastest)
  --wasm-threads <n,..>  tfjs-wasm (and onnxruntime-web) thread counts, each in a fresh page
                         (default: one per core)
  --no-ort               skip the onnxruntime-web wasm forward baseline
  --min-ms <ms>          time each case for at least this long (default 3000)
  --max-iters <n>        at most this many timed iterations per case (default 20)
  --max-step-s <s>       skip a backend's larger batches once a warm-up step takes longer (default 60)
  --out <file.json>      results (a .md table is written next to it; default bench-results/perf-<date>.json)
  --dawn <dir>           no browser: tfjs WebGPU in Node through Dawn, from the 'webgpu' npm package in
                         <dir> (npm i --no-save --prefix /tmp/dawn webgpu@0.6.2 gives
                         /tmp/dawn/node_modules/webgpu); for GPU machines without Chromium.
                         Runs webgpu only, and no onnxruntime-web baseline
`;

function list(flag: string, value: string | undefined): string[] {
  if (!value || value.startsWith('--')) throw new Error(`${flag} needs a value`);
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got '${value}'`);
  return n;
}

export function parsePerfArgs(argv: readonly string[]): PerfOptions {
  const o: PerfOptions = { backends: [...PERF_BACKENDS], batches: [1, 16, 64, 200], steps: [...STEP_KINDS], torch: true, torchThreads: [1, 2], ort: true, wasmThreads: [], minMs: 3000, maxIters: 20, maxStepMs: 60_000, help: false };
  let backendsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = () => argv[++i];
    switch (flag) {
      case '--backends':
        backendsGiven = true;
        o.backends = list(flag, next()).map((b) => {
          if (!(PERF_BACKENDS as readonly string[]).includes(b)) throw new Error(`--backends: unknown backend '${b}' (known: ${PERF_BACKENDS.join(', ')})`);
          return b as BackendName;
        });
        break;
      case '--batches':
        o.batches = list(flag, next()).map((b) => {
          const n = Number(b);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--batches: '${b}' is not a positive integer`);
          return n;
        });
        break;
      case '--steps':
        o.steps = list(flag, next()).map((s) => {
          if (!(STEP_KINDS as readonly string[]).includes(s)) throw new Error(`--steps: unknown step '${s}' (known: ${STEP_KINDS.join(', ')})`);
          return s as StepKind;
        });
        break;
      case '--no-torch':
        o.torch = false;
        break;
      case '--torch-threads':
        o.torchThreads = list(flag, next()).map((t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--torch-threads: '${t}' is not a positive integer`);
          return n;
        });
        break;
      case '--wasm-threads':
        o.wasmThreads = list(flag, next()).map((t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`--wasm-threads: '${t}' is not an integer in 1..8`);
          return n;
        });
        break;
      case '--no-ort':
        o.ort = false;
        break;
      case '--min-ms':
        o.minMs = positive(flag, list(flag, next())[0]!);
        break;
      case '--max-iters':
        o.maxIters = Math.ceil(positive(flag, list(flag, next())[0]!));
        break;
      case '--max-step-s':
        o.maxStepMs = 1000 * positive(flag, list(flag, next())[0]!);
        break;
      case '--out':
        o.out = list(flag, next()).join(',');
        break;
      case '--dawn':
        o.dawn = list(flag, next()).join(',');
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option '${flag}'\n\n${PERF_USAGE}`);
    }
  }
  if (o.dawn) {
    if (backendsGiven && o.backends.some((b) => b !== 'webgpu')) throw new Error(`--dawn runs the webgpu backend only (got --backends ${o.backends.join(',')})`);
    o.backends = ['webgpu'];
    o.ort = false;
  }
  return o;
}
