/**
 * npm run make-cifar10c -- --cifar <dir with test_batch.bin> --out <dir> [--n N] [--seed S] [--extra]
 *     [--only name,name] [--workers W]
 *
 * Writes generated CIFAR-10-C in the official layout (<corruption>.npy uint8 [5N,32,32,3],
 * labels.npy). Work is split into chunks of images run on worker threads; every image has
 * its own seeded generator, so the bytes do not depend on the chunking or the worker count.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseCifarBatch } from '../src/data/cifar.ts';
import { corruptionFileHeader, corruptRange, labelsFile, SEVERITIES } from '../src/data/cifar10c.ts';
import {
  BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS, isCorruptionName, type CorruptionName, type Severity,
} from '../src/data/corruptions/index.ts';
import { loadFrostOverlaysFromDisk } from '../src/data/node.ts';

const CHUNK = 500;

interface Task { name: CorruptionName; severity: Severity; start: number; end: number }
interface Setup { cifarFile: string; n: number; seed: number }

function loadClean(file: string, n: number) {
  const all = parseCifarBatch(new Uint8Array(readFileSync(file)), file);
  if (n > all.n) throw new Error(`--n ${n} exceeds the ${all.n} images in ${file}`);
  return { ...all, n, data: all.data.subarray(0, n * 3072), labels: all.labels.subarray(0, n) };
}

async function workerMain(setup: Setup) {
  const clean = loadClean(setup.cifarFile, setup.n);
  const frost = await loadFrostOverlaysFromDisk();
  parentPort!.on('message', (task: Task) => {
    const bytes = corruptRange(clean, task.name, task.severity, task.start, task.end, setup.seed, frost);
    parentPort!.postMessage({ task, bytes }, [bytes.buffer as ArrayBuffer]);
  });
}

function parseArgs(argv: string[]) {
  const opts: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const key = a.slice(2);
    if (key === 'extra') opts[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`--${key} needs a value`);
      opts[key] = v;
    }
  }
  const known = ['cifar', 'out', 'n', 'seed', 'extra', 'only', 'workers'];
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.map((x) => '--' + x).join(' ')})`);
  if (typeof opts.cifar !== 'string' || typeof opts.out !== 'string') {
    throw new Error('usage: make-cifar10c --cifar <dir with test_batch.bin> --out <dir> [--n N] [--seed S] [--extra] [--only a,b] [--workers W]');
  }
  const int = (k: string, d: number, min = 0) => {
    const v = opts[k] === undefined ? d : Number(opts[k]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${k} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got '${String(opts[k])}'`);
    return v;
  };
  let names: CorruptionName[] = [...BENCHMARK_CORRUPTIONS, ...(opts.extra ? EXTRA_CORRUPTIONS : [])];
  if (typeof opts.only === 'string') {
    names = opts.only.split(',').map((s) => {
      if (!isCorruptionName(s)) throw new Error(`--only: unknown corruption '${s}'`);
      return s;
    });
  }
  return {
    cifarFile: join(opts.cifar, 'test_batch.bin'),
    out: opts.out,
    n: int('n', 10000, 1),
    seed: int('seed', 0),
    workers: Math.max(1, int('workers', Math.min(2, availableParallelism()))),
    names,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const clean = loadClean(args.cifarFile, args.n);
  const n = clean.n;
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'labels.npy'), labelsFile(clean.labels));
  const header = corruptionFileHeader(n);
  const files = new Map<CorruptionName, number>();
  const tasks: Task[] = [];
  for (const name of args.names) {
    const fd = openSync(join(args.out, `${name}.npy`), 'w');
    writeSync(fd, header, 0, header.length, 0);
    files.set(name, fd);
    for (const severity of SEVERITIES) for (let s = 0; s < n; s += CHUNK) tasks.push({ name, severity, start: s, end: Math.min(n, s + CHUNK) });
  }
  const total = tasks.length;
  const t0 = performance.now();
  let done = 0;
  const perName = new Map<CorruptionName, number>();
  const setup: Setup = { cifarFile: args.cifarFile, n, seed: args.seed };
  await new Promise<void>((resolveAll, reject) => {
    const workers = Array.from({ length: Math.min(args.workers, total) }, () => {
      // Workers do not inherit tsx's loader: register it, then load this file as the worker.
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(boot, { eval: true, workerData: setup });
      w.on('error', reject);
      const next = () => {
        const t = tasks.shift();
        if (t) w.postMessage(t);
        else void w.terminate();
      };
      w.on('message', ({ task, bytes }: { task: Task; bytes: Uint8Array }) => {
        const fd = files.get(task.name)!;
        writeSync(fd, bytes, 0, bytes.length, header.length + ((task.severity - 1) * n + task.start) * 3072);
        perName.set(task.name, (perName.get(task.name) ?? 0) + bytes.length / 3072);
        done++;
        const el = (performance.now() - t0) / 1000;
        process.stdout.write(
          `\r[make-cifar10c] ${done}/${total} chunks  ${task.name} s${task.severity}  ${el.toFixed(0)} s elapsed, ~${((el / done) * (total - done)).toFixed(0)} s left   `,
        );
        if (done === total) resolveAll();
        next();
      });
      return { next };
    });
    workers.forEach((w) => w.next());
  });
  for (const fd of files.values()) closeSync(fd);
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`\n[make-cifar10c] wrote ${args.names.length} corruptions x 5 severities x ${n} images to ${args.out} in ${secs.toFixed(1)} s (${args.workers} workers)\n`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(`make-cifar10c: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  void workerMain(workerData as Setup);
}
