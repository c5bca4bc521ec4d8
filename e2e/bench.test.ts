/**
 * The benchmark CLI end to end: a tiny run (2 methods x 2 corruptions x 20 images) through
 * `scripts/bench.ts`, checked against an independent evaluation of the source model with
 * onnxruntime-web in Node, then rerun with the same --out to check that it resumes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-web';
import { ROOT } from './browser.ts';
import { parseCifarBatch } from '../src/data/cifar.ts';
import { corruptRange } from '../src/data/cifar10c.ts';
import type { BenchResults } from '../src/bench/types.ts';
import { nodeFileTree } from '../src/data/files-node.ts';
import { listCamVid, readSegmentationPair } from '../src/data/folders.ts';
import { decodeImageNode } from '../src/data/decode-node.ts';
import { corruptedSource } from '../src/stream/source.ts';
import { SegmentationTally } from '../src/metrics/index.ts';

const run = promisify(execFile);
const N = 20;
const CORRUPTIONS = ['gaussian_noise', 'fog'] as const;
const ARGS = ['--dev', '--methods', 'source,tent', '--corruptions', CORRUPTIONS.join(','), '--n', String(N), '--batch', '10', '--backend', 'wasm', '--ort-baseline'];

let out: string;
let first: { stdout: string; stderr: string };
let results: BenchResults;

async function bench(): Promise<{ stdout: string; stderr: string }> {
  return run('node', ['--import', 'tsx', 'scripts/bench.ts', ...ARGS, '--out', out], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 << 20 });
}

before(async () => {
  out = mkdtempSync(join(tmpdir(), 'webtta-bench-e2e-'));
  first = await bench();
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
});
after(() => rmSync(out, { recursive: true, force: true }));

/** Source-model error on the same generated CIFAR-10-C images, computed with onnxruntime-web in Node. */
async function ortSourceError(corruption: (typeof CORRUPTIONS)[number]): Promise<number> {
  const clean = parseCifarBatch(new Uint8Array(readFileSync(join(ROOT, 'public/samples/cifar10/test_canonical_0-999.bin'))));
  const px = corruptRange(clean, corruption, 5, 0, N, 0);
  const x = new Float32Array(N * 3 * 32 * 32);
  for (let i = 0; i < N; i++) for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) x[(i * 3 + c) * 1024 + p] = px[(i * 1024 + p) * 3 + c]! / 255;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(readFileSync(join(ROOT, 'models/cifar10-resnet26.onnx')));
  const logits = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [N, 3, 32, 32]) }))[session.outputNames[0]!]!.data as Float32Array;
  await session.release();
  let wrong = 0;
  for (let i = 0; i < N; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) !== clean.labels[i]) wrong++;
  }
  return (100 * wrong) / N;
}

test('results.json holds every number, the config, the model hash and the environment', () => {
  assert.match(first.stdout, /wrote .*results\.json/);
  assert.equal(results.schema, 'webtta-bench/1');
  assert.deepEqual(results.config.methods, ['source', 'tent']);
  assert.deepEqual(results.config.corruptions, CORRUPTIONS);
  assert.equal(results.config.n, N);
  const onnx = readFileSync(join(ROOT, 'models/cifar10-resnet26.onnx'));
  assert.equal(results.model.hash, createHash('sha256').update(onnx).digest('hex'));
  assert.equal(results.environment.backend.backend, 'wasm');
  assert.match(results.environment.browserVersion, /\d+\.\d+\.\d+\.\d+/);
  assert.ok(results.environment.machine.cpus >= 1);
  assert.deepEqual(results.runs.map((r) => [r.method, r.setting, r.seed, r.domains.map((d) => d.corruption)]), [
    ['source', 'continual', 1, [...CORRUPTIONS]],
    ['tent', 'continual', 1, [...CORRUPTIONS]],
  ]);
  for (const r of results.runs) {
    assert.ok(r.timeToFirstBatchMs > 0);
    for (const d of r.domains) {
      assert.equal(d.n, N);
      assert.equal(d.batchErrorPct.length, 2);
      // Two equal batches: the domain error is the mean of the batch errors.
      assert.ok(Math.abs(d.errorPct - (d.batchErrorPct[0]! + d.batchErrorPct[1]!) / 2) < 1e-9);
      assert.ok(d.imagesPerSec > 0);
    }
  }
  assert.deepEqual(results.forward.map((f) => f.engine), ['webtta', 'onnxruntime-web']);
  for (const f of results.forward) assert.ok(f.imagesPerSec > 0, `${f.engine} forward images/s ${f.imagesPerSec}`);
});

test('the source row equals an independent onnxruntime-web evaluation of the same images', async () => {
  const source = results.runs.find((r) => r.method === 'source')!;
  for (const [i, c] of CORRUPTIONS.entries()) {
    assert.equal(source.domains[i]!.errorPct, await ortSourceError(c), c);
  }
});

test('results.md and report.html show the same numbers', () => {
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  for (const r of results.runs) {
    const cells = r.domains.map((d) => d.errorPct.toFixed(1));
    const mean = (r.domains.reduce((s, d) => s + d.errorPct, 0) / r.domains.length).toFixed(1);
    assert.ok(md.includes(`| ${r.method} | ${cells.join(' | ')} | ${mean} |`), `row of ${r.method} in results.md`);
  }
  assert.match(md, /forward only \(onnxruntime-web/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // Error per domain, error along the stream, throughput, tensors and WASM heap per domain.
  assert.equal((html.match(/<svg /g) ?? []).length, 5);
  const embedded = html.match(/<script type="application\/json" id="results">(.*)<\/script>/s)![1]!;
  assert.deepEqual(JSON.parse(embedded), results);
});

test('official-layout .npy files (from make-cifar10c) give the same source errors as generating on the fly', async () => {
  const npy = join(out, 'npy');
  const clean = join(out, 'clean');
  mkdirSync(clean);
  symlinkSync(join(ROOT, 'public/samples/cifar10/test_canonical_0-999.bin'), join(clean, 'test_batch.bin'));
  await run('node', ['--import', 'tsx', 'scripts/make-cifar10c.ts', '--cifar', clean, '--out', npy, '--n', String(N), '--only', CORRUPTIONS.join(',')], { cwd: ROOT, timeout: 120_000 });
  const npyOut = join(out, 'from-npy');
  await run('node', ['--import', 'tsx', 'scripts/bench.ts', '--dev', '--methods', 'source', '--corruptions', CORRUPTIONS.join(','), '--n', String(N), '--batch', '10', '--backend', 'wasm', '--data', npy, '--out', npyOut], { cwd: ROOT, timeout: 300_000 });
  const fromNpy = JSON.parse(readFileSync(join(npyOut, 'results.json'), 'utf8')) as BenchResults;
  assert.equal(fromNpy.config.dataset.kind, 'cifar10c-npy');
  const generated = results.runs.find((r) => r.method === 'source')!;
  assert.deepEqual(fromNpy.runs[0]!.domains.map((d) => d.errorPct), generated.domains.map((d) => d.errorPct));
});

test('CamVid-C: a segmentation run scores pixels; its mIoU equals onnxruntime-web on the same frames', async () => {
  const segOut = join(out, 'camvid');
  await run('node', ['--import', 'tsx', 'scripts/bench.ts', '--dev', '--model', 'camvid-unet', '--data', 'public/samples/camvid', '--methods', 'source', '--corruptions', 'contrast', '--n', '2', '--batch', '2', '--backend', 'wasm', '--out', segOut], { cwd: ROOT, timeout: 300_000 });
  const seg = JSON.parse(readFileSync(join(segOut, 'results.json'), 'utf8')) as BenchResults;
  const d = seg.runs[0]!.domains[0]!;
  // The same two frames (listing order), corrupted the same way, through ORT in Node.
  const tree = nodeFileTree(join(ROOT, 'public/samples/camvid'));
  const pairs = (await listCamVid(tree, '', '')).slice(0, 2);
  const frames = await Promise.all(pairs.map((p) => readSegmentationPair(tree, p, decodeImageNode)));
  const [h, w] = [frames[0]!.height, frames[0]!.width];
  const clean = { name: 'c', size: 2, height: h, width: w, labels: async () => new Int32Array(2), get: async (ids: readonly number[]) => ({ images: Uint8Array.from(ids.flatMap((i) => Array.from(frames[i]!.image))), labels: new Int32Array(0) }) };
  const { images } = await corruptedSource(clean, 'contrast', 5, { seed: 0 }).get([0, 1]);
  const x = new Float32Array(2 * 3 * h * w);
  for (let i = 0; i < 2; i++) for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) x[(i * 3 + c) * h * w + p] = images[(i * h * w + p) * 3 + c]! / 255;
  const session = await ort.InferenceSession.create(readFileSync(join(ROOT, 'models/camvid-unet.onnx')));
  const logits = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [2, 3, h, w]) }))[session.outputNames[0]!]!.data as Float32Array;
  await session.release();
  const tally = new SegmentationTally(11, 11);
  for (let i = 0; i < 2; i++) {
    const pred = new Int32Array(h * w);
    for (let p = 0; p < h * w; p++) {
      let best = 0;
      for (let c = 1; c < 11; c++) if (logits[(i * 11 + c) * h * w + p]! > logits[(i * 11 + best) * h * w + p]!) best = c;
      pred[p] = best;
    }
    tally.add(pred, frames[i]!.label);
  }
  const ref = tally.summary();
  assert.equal(seg.config.dataset.kind, 'camvid-c');
  assert.ok(Math.abs(d.mIoU! - ref.mIoU) < 0.05, `mIoU ${d.mIoU} vs ORT ${ref.mIoU}`);
  assert.ok(Math.abs(d.errorPct - ref.pixelErrorPct) < 0.05, `pixel error ${d.errorPct} vs ORT ${ref.pixelErrorPct}`);
  assert.match(readFileSync(join(segOut, 'results.md'), 'utf8'), /## mIoU \(%\), continual/);
});

test('a rerun with the same --out resumes: finished domains are not run again', async () => {
  const again = await bench();
  assert.match(again.stderr, /resuming: 80 images of finished domains skipped/);
  const second = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
  assert.deepEqual(second.runs, results.runs);
});

test('a continual CoTTA run stopped part-way resumes from its saved state and ends with the numbers of an unbroken run', async () => {
  const args = ['scripts/bench.ts', '--dev', '--methods', 'cotta', '--corruptions', 'gaussian_noise,fog,contrast', '--n', '20', '--batch', '10', '--backend', 'wasm', '--set', 'cotta.views=4'];
  const unbroken = mkdtempSync(join(tmpdir(), 'webtta-bench-unbroken-'));
  const broken = mkdtempSync(join(tmpdir(), 'webtta-bench-broken-'));
  try {
    await run('node', ['--import', 'tsx', ...args, '--out', unbroken], { cwd: ROOT, timeout: 300_000 });
    // Interrupt (Ctrl-C) as soon as the first domain's state is saved.
    const child = spawn('node', ['--import', 'tsx', ...args, '--out', broken], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const state = join(broken, 'states', 'cotta__continual__s1.json');
    while (!existsSync(state) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    assert.equal(await exited, 130, 'stopped by the interrupt, before the run finished');
    const resumed = await run('node', ['--import', 'tsx', ...args, '--out', broken], { cwd: ROOT, timeout: 300_000 });
    assert.match(resumed.stderr, /cotta continual seed 1: resuming after domain [12] of 3/);
    const numbers = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults).runs.map((r) => r.domains.map((d) => [d.corruption, d.errorPct, d.batchErrorPct, d.stats]));
    assert.deepEqual(numbers(broken), numbers(unbroken));
    assert.ok(!existsSync(state), 'a finished run drops its saved state');
  } finally {
    rmSync(unbroken, { recursive: true, force: true });
    rmSync(broken, { recursive: true, force: true });
  }
});

test('short soak through the CLI: batches of 1-64 images, tensors and bytes flat from the first to the last domain, no NaN', async () => {
  const soak = mkdtempSync(join(tmpdir(), 'webtta-bench-soak-'));
  try {
    await run('node', ['--import', 'tsx', 'scripts/bench.ts', '--dev', '--methods', 'bn,tent', '--corruptions', 'gaussian_noise,fog,contrast,snow', '--n', '100', '--batch', '1-64', '--backend', 'wasm', '--out', soak], { cwd: ROOT, timeout: 300_000 });
    const r = JSON.parse(readFileSync(join(soak, 'results.json'), 'utf8')) as BenchResults;
    assert.deepEqual(r.config.batchRange, { min: 1, max: 64 });
    for (const runResult of r.runs) {
      const [first, ...rest] = runResult.domains;
      assert.ok(runResult.domains.reduce((s, d) => s + d.steps!, 0) >= 8, 'several batches per domain');
      for (const d of rest) {
        assert.equal(d.memory!.numTensors, first!.memory!.numTensors, `${runResult.method}: tensors after ${d.corruption}`);
        assert.equal(d.memory!.numBytes, first!.memory!.numBytes, `${runResult.method}: tensor bytes after ${d.corruption}`);
      }
      assert.ok(first!.memory!.wasmHeapBytes! > 0, 'the WASM heap is reported');
      assert.ok(runResult.domains.every((d) => d.nonFinitePredictions === 0 && (d.stats.guardSkipped ?? 0) === 0), `${runResult.method}: no NaN/Inf, no rollback`);
    }
    assert.match(readFileSync(join(soak, 'results.md'), 'utf8'), /## Memory and stability[\s\S]*\| tent continual s1 \| 400 \|/);
  } finally {
    rmSync(soak, { recursive: true, force: true });
  }
});
