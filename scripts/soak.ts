/**
 * `npm run soak -- [options]`: long-run reliability check of the runtime (TTASession, the
 * code the worker and the benchmark run) per method. Batch sizes are drawn (seeded) from
 * min..max; every batch samples live tensors, tensor bytes, the WASM heap, the guard's
 * rollbacks / resets and failed steps into results.json; the run fails (exit 1) when
 * the tensor count grows, a parameter ends non-finite or a step was non-finite.
 * Runs in Node on wasm (no threads) or cpu; see docs/soak.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TTASession, type RuntimeMemory } from '../src/runtime/session.ts';
import { createMethod, tensorSource } from '../src/methods/index.ts';
import { parseCifarBatch, type Uint8Images } from '../src/data/cifar.ts';
import { corrupt, corruptionRng, isCorruptionName, type Severity } from '../src/data/corruptions/index.ts';
import { imageFromUint8, imageToUint8 } from '../src/data/image.ts';
import type { BackendChoice } from '../src/runtime/backend.ts';
import type { GuardEvent } from '../src/methods/guard.ts';
import { Rng } from '../src/util/rng.ts';

const USAGE = `Usage: npm run soak -- [options]
  --methods <a,b,...>     methods (default source,bn,tent,eta)
  --frames <N>            images per method (default 100000)
  --batch <min-max>       batch sizes drawn uniformly from this range (default 1-64)
  --model <file.onnx>     classification model (default models/cifar10-resnet26.onnx)
  --data <file.bin>       CIFAR-10 binary batch (default public/samples/cifar10/test_canonical_0-999.bin)
  --corruption <name>     applied to every image, severity 5 (default gaussian_noise; 'none' for clean)
  --backend <wasm|cpu>    tfjs backend in Node (default wasm)
  --seed <s>              batch-size and corruption seed (default 1)
  --out <dir>             output folder (default soak-results/<timestamp>)`;

interface Options {
  methods: string[];
  frames: number;
  minBatch: number;
  maxBatch: number;
  model: string;
  data: string;
  corruption: string;
  backend: BackendChoice;
  seed: number;
  out: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    methods: ['source', 'bn', 'tent', 'eta'],
    frames: 100_000,
    minBatch: 1,
    maxBatch: 64,
    model: 'models/cifar10-resnet26.onnx',
    data: 'public/samples/cifar10/test_canonical_0-999.bin',
    corruption: 'gaussian_noise',
    backend: 'wasm',
    seed: 1,
    out: `soak-results/${new Date().toISOString().replace(/[:.]/g, '-')}`,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const int = (min: number) => {
      const x = Number(v);
      if (!Number.isInteger(x) || x < min) throw new Error(`${flag}: '${v}' is not an integer >= ${min}`);
      return x;
    };
    if (flag === '--methods') o.methods = v.split(',').filter(Boolean);
    else if (flag === '--frames') o.frames = int(1);
    else if (flag === '--batch') {
      const m = /^(\d+)-(\d+)$/.exec(v);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new Error(`--batch: '${v}' is not a range like 1-64`);
      [o.minBatch, o.maxBatch] = [Number(m[1]), Number(m[2])];
    } else if (flag === '--model') o.model = v;
    else if (flag === '--data') o.data = v;
    else if (flag === '--corruption') o.corruption = v;
    else if (flag === '--backend') {
      if (v !== 'wasm' && v !== 'cpu') throw new Error(`--backend: '${v}' (in Node: wasm or cpu)`);
      o.backend = v;
    } else if (flag === '--seed') o.seed = int(0);
    else if (flag === '--out') o.out = v;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  if (o.corruption !== 'none' && !isCorruptionName(o.corruption)) throw new Error(`--corruption: unknown corruption '${o.corruption}'`);
  return o;
}

/** The image pool, corrupted once up front (corruption cost stays out of the step timings). */
function loadPool(o: Options): Uint8Images {
  const clean = parseCifarBatch(new Uint8Array(readFileSync(o.data)), o.data);
  if (o.corruption === 'none' || !isCorruptionName(o.corruption)) return clean;
  const name = o.corruption;
  const data = new Uint8Array(clean.data.length);
  const size = clean.height * clean.width * 3;
  for (let i = 0; i < clean.n; i++) {
    const img = imageFromUint8(clean.data.subarray(i * size, (i + 1) * size), clean.height, clean.width);
    const out = corrupt(name, img, 5 as Severity, { rng: corruptionRng(o.seed, name, 5, i) });
    imageToUint8(out, data.subarray(i * size, (i + 1) * size));
  }
  return { ...clean, data };
}

interface Sample {
  frames: number;
  batch: number;
  ms: number;
  numTensors: number;
  numBytes: number;
  wasmHeapBytes: number;
  skipped: number;
  reset: number;
  errors: number;
}

interface MethodSummary {
  method: string;
  frames: number;
  batches: number;
  seconds: number;
  imagesPerSec: number;
  errorPct: number;
  /** Live tensors after the first batch, and the least / most seen afterwards. */
  tensorsAfterFirst: number;
  tensorsMin: number;
  tensorsMax: number;
  bytesMin: number;
  bytesMax: number;
  /** WASM heap (it only grows) after the first tenth of the batches (every batch size seen by then), and at the end. */
  heapWarm: number;
  heapLast: number;
  skippedSteps: number;
  resets: number;
  paramsFinite: boolean;
  guardEvents: GuardEvent[];
  ok: boolean;
}

async function soakMethod(session: TTASession, method: string, pool: Uint8Images, o: Options, log: (s: string) => void) {
  const clean = tf.tidy(() => tf.tensor4d(pool.data.slice(0, 64 * 32 * 32 * 3), [64, 32, 32, 3]).div(255) as tf.Tensor4D);
  await session.setMethod((model) => createMethod(method, model, { seed: o.seed, dataset: 'cifar10', sourceData: tensorSource(clean) }));
  clean.dispose();
  const rng = new Rng(o.seed).fork(method);
  const samples: Sample[] = [];
  const size = pool.height * pool.width * 3;
  let frames = 0;
  let cursor = 0;
  let wrong = 0;
  let scored = 0;
  const t0 = performance.now();
  let lastLog = t0;
  while (frames < o.frames) {
    const n = Math.min(o.frames - frames, o.minBatch + Math.floor(rng.random() * (o.maxBatch - o.minBatch + 1)));
    const data = new Uint8Array(n * size);
    const labels: number[] = [];
    for (let k = 0; k < n; k++, cursor = (cursor + 1) % pool.n) {
      data.set(pool.data.subarray(cursor * size, (cursor + 1) * size), k * size);
      labels.push(pool.labels[cursor]!);
    }
    const s0 = performance.now();
    let errors = 0;
    let stats: Record<string, number> = {};
    try {
      const out = await session.step({ data, shape: [n, pool.height, pool.width, 3] });
      stats = out.stats;
      out.labels.forEach((l, i) => (wrong += l === labels[i] ? 0 : 1));
      scored += n;
    } catch (err) {
      errors = 1;
      log(`  ${method}: step failed at frame ${frames}: ${err instanceof Error ? err.message : String(err)}`);
    }
    frames += n;
    const mem: RuntimeMemory = session.memory();
    samples.push({
      frames,
      batch: n,
      ms: performance.now() - s0,
      numTensors: mem.numTensors,
      numBytes: mem.numBytes,
      wasmHeapBytes: mem.wasmHeapBytes ?? 0,
      skipped: stats.guardSkipped ?? 0,
      reset: stats.guardReset ?? 0,
      errors,
    });
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`  ${method}: ${frames}/${o.frames} frames, ${mem.numTensors} tensors, ${(mem.numBytes / 1e6).toFixed(2)} MB, heap ${((mem.wasmHeapBytes ?? 0) / 1e6).toFixed(1)} MB`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const paramsFinite = await session.parametersFinite();
  const after = samples.slice(1);
  const summary: MethodSummary = {
    method,
    frames,
    batches: samples.length,
    seconds,
    imagesPerSec: frames / seconds,
    errorPct: (100 * wrong) / Math.max(1, scored),
    tensorsAfterFirst: samples[0]!.numTensors,
    tensorsMin: Math.min(...after.map((s) => s.numTensors)),
    tensorsMax: Math.max(...after.map((s) => s.numTensors)),
    bytesMin: Math.min(...after.map((s) => s.numBytes)),
    bytesMax: Math.max(...after.map((s) => s.numBytes)),
    heapWarm: samples[Math.floor(samples.length / 10)]!.wasmHeapBytes,
    heapLast: samples[samples.length - 1]!.wasmHeapBytes,
    skippedSteps: samples.reduce((a, s) => a + s.skipped, 0),
    resets: samples.reduce((a, s) => a + s.reset, 0),
    paramsFinite,
    guardEvents: session.takeGuardEvents(),
    ok: false,
  };
  const errors = samples.reduce((a, s) => a + s.errors, 0);
  summary.ok = errors === 0 && paramsFinite && summary.skippedSteps === 0 && summary.tensorsMax <= summary.tensorsAfterFirst;
  return { summary, samples };
}

function markdown(o: Options, backend: string, rows: MethodSummary[]): string {
  const mb = (b: number) => (b / 1e6).toFixed(2);
  return [
    `Soak: ${o.frames} frames per method, batch ${o.minBatch}-${o.maxBatch} (seed ${o.seed}), ${o.model}, ${o.data} + ${o.corruption} s5, ${backend} backend in Node.`,
    '',
    '| method | frames | batches | img/s | error % | tensors after 1st batch | tensors min-max after | tensor MB min-max | WASM heap MB after 10% -> end | non-finite steps | guard resets | params finite | ok |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.frames} | ${r.batches} | ${r.imagesPerSec.toFixed(1)} | ${r.errorPct.toFixed(1)} | ${r.tensorsAfterFirst} | ${r.tensorsMin}-${r.tensorsMax} | ${mb(r.bytesMin)}-${mb(r.bytesMax)} | ${mb(r.heapWarm)} -> ${mb(r.heapLast)} | ${r.skippedSteps} | ${r.resets} | ${r.paramsFinite ? 'yes' : 'NO'} | ${r.ok ? 'yes' : 'NO'} |`,
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const log = (s: string) => console.log(s);
  const pool = loadPool(o);
  const session = new TTASession();
  const backend = await session.init(o.backend);
  await session.loadModel({ format: 'onnx', bytes: new Uint8Array(readFileSync(o.model)) }, { name: o.model });
  log(`soak: ${o.methods.join(', ')}; ${o.frames} frames each, batch ${o.minBatch}-${o.maxBatch}, backend ${backend.backend}, ${pool.n} images (${o.corruption})`);
  const rows: MethodSummary[] = [];
  const perBatch: Record<string, Record<keyof Sample, number[]>> = {};
  for (const method of o.methods) {
    const { summary, samples } = await soakMethod(session, method, pool, o, log);
    rows.push(summary);
    // Columns rather than objects: 100k frames are ~3k batches per method.
    perBatch[method] = Object.fromEntries((Object.keys(samples[0]!) as (keyof Sample)[]).map((k) => [k, samples.map((s) => (k === 'ms' ? Math.round(s[k] * 10) / 10 : s[k]))])) as Record<keyof Sample, number[]>;
    log(`  ${method}: ${summary.ok ? 'ok' : 'FAILED'} - ${summary.imagesPerSec.toFixed(1)} img/s, tensors ${summary.tensorsAfterFirst} -> ${summary.tensorsMin}..${summary.tensorsMax}, non-finite steps ${summary.skippedSteps}, resets ${summary.resets}`);
    writeFileSync(resolve(o.out, 'results.json'), JSON.stringify({ options: o, backend, summary: rows, perBatch }, null, 1));
  }
  writeFileSync(resolve(o.out, 'summary.md'), markdown(o, backend.backend, rows));
  console.log(`\n${markdown(o, backend.backend, rows)}\nwritten to ${o.out}/results.json and summary.md`);
  session.dispose();
  if (!rows.every((r) => r.ok)) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
