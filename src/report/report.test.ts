import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchResults, DomainResult, RunResult } from '../bench/types.ts';
import { renderHtml, renderMarkdown, renderSoakTable, buildTables, throughputRows } from './index.ts';
import { smooth } from './html.ts';

function domain(method: string, seed: number, domainIndex: number, corruption: string, errorPct: number, ms: number): DomainResult {
  return { method, setting: 'continual', seed, domainIndex, corruption, severity: 5, n: 10, errorPct, images: 10, ms, imagesPerSec: 10000 / ms, batchErrorPct: [errorPct - 1, errorPct + 1], stats: {} };
}

function run(method: string, seed: number, errs: [number, number], ms: number): RunResult {
  return { method, setting: 'continual', seed, batchSize: method === 'tent' ? 200 : 5, timeToFirstBatchMs: 100 + seed, domains: [domain(method, seed, 0, 'gaussian_noise', errs[0], ms), domain(method, seed, 1, 'fog', errs[1], ms)] };
}

function fixture(): BenchResults {
  return {
    schema: 'webtta-bench/1',
    config: {
      model: { name: 'm<1>', format: 'onnx', url: '/m.onnx', task: 'classification', inputShape: [32, 32, 3], numClasses: 10, methodDefaults: 'cifar10' },
      methods: ['source', 'tent'],
      settings: ['continual'],
      dataset: { kind: 'cifar10c', url: '/d', source: 'samples' },
      corruptions: ['gaussian_noise', 'fog'],
      order: 'given',
      severities: [5],
      n: 10,
      batchSizes: { source: 5, tent: 200 },
      seeds: [1, 2],
      backend: 'wasm',
      overrides: {},
      ortBaseline: true,
      forwardBatches: 3,
      forwardBatchSize: 5,
    },
    model: { name: 'm<1>', hash: 'abc', card: { status: 'interim', epoch: 5 } },
    environment: {
      backend: { backend: 'wasm', requested: 'wasm', wasmThreads: 2, crossOriginIsolated: true, skipped: [] },
      userAgent: 'ua',
      browserVersion: '140.0',
      hardwareConcurrency: 2,
      machine: { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'cpu', memoryGiB: 8, node: 'v20' },
    },
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:01:00Z',
    // Hand-chosen: source errors (seed 1, 2) gaussian 70/72, fog 20/24; tent 40/42, 18/20.
    runs: [run('source', 1, [70, 20], 50), run('source', 2, [72, 24], 50), run('tent', 1, [40, 18], 200), run('tent', 2, [42, 20], 200)],
    forward: [
      { engine: 'webtta', backend: 'wasm', batchSize: 5, batches: 3, imagesPerSec: 250, firstBatchMs: 30 },
      { engine: 'onnxruntime-web', backend: 'wasm', batchSize: 5, batches: 3, imagesPerSec: 400, firstBatchMs: 20 },
    ],
  };
}

test('tables average over seeds, then over domains', () => {
  const [t] = buildTables(fixture());
  assert.deepEqual(t!.columns, ['gaussian_noise', 'fog']);
  assert.deepEqual(t!.rows.map((r) => r.values), [[71, 22], [41, 19]]);
  // source: seed means 45 and 48 -> 46.5 +- 1.5; tent: 29 and 31 -> 30 +- 1.
  assert.equal(t!.rows[0]!.mean, 46.5);
  assert.equal(t!.rows[0]!.meanStd, 1.5);
  assert.equal(t!.rows[1]!.mean, 30);
  assert.equal(t!.rows[1]!.meanStd, 1);
});

test('throughput rows: forward engines, then adaptation images/s per method', () => {
  const rows = throughputRows(fixture());
  assert.deepEqual(rows.map((r) => [r.label, r.imagesPerSec]), [
    ['forward only (webtta, wasm, batch 5)', 250],
    ['forward only (onnxruntime-web, wasm, batch 5)', 400],
    ['source', 200], // 40 images in 200 ms
    ['tent', 50],
  ]);
  assert.equal(rows[2]!.firstMs, 101.5);
});

test('markdown has the RobustBench table and the throughput table', () => {
  const md = renderMarkdown(fixture());
  assert.match(md, /\| method \| gaussian_noise \| fog \| mean \|/);
  assert.match(md, /\| source \| 71\.0 \| 22\.0 \| 46\.5 ± 1\.5 \|/);
  assert.match(md, /\| tent \| 41\.0 \| 19\.0 \| 30\.0 ± 1\.0 \|/);
  assert.match(md, /\| adapt: tent \| 50\.0 \| 102 \|/);
  assert.match(md, /sha256 abc/);
  assert.match(md, /card status: interim, epoch 5/);
  assert.match(md, /- batch size: 5 \(source\), 200 \(tent\); each method's published size for the data set/);
  const explicit = fixture();
  explicit.config.batchSize = 5;
  explicit.runs.forEach((r) => (r.batchSize = 5));
  assert.match(renderMarkdown(explicit), /- batch size: 5 \(source, tent\); set by --batch/);
  assert.doesNotMatch(md, /Memory and stability/, 'no memory recorded, no table');
});

test('memory and stability: first -> last domain memory, guard counts summed over steps', () => {
  const r = fixture();
  r.config.batchRange = { min: 1, max: 64 };
  const tent = r.runs[2]!;
  tent.domains[0]!.steps = 4;
  tent.domains[0]!.memory = { numTensors: 120, numBytes: 1, wasmHeapBytes: 64 * 2 ** 20 };
  tent.domains[0]!.stats = { guardSkipped: 0.25, guardCollapses: 0 };
  tent.domains[1]!.steps = 6;
  tent.domains[1]!.memory = { numTensors: 120, numBytes: 1, wasmHeapBytes: 80 * 2 ** 20 };
  tent.domains[1]!.stats = { guardSkipped: 0.5, guardCollapses: 1 / 6 };
  tent.domains[1]!.nonFinitePredictions = 2;
  const md = renderMarkdown(r);
  assert.match(md, /- batch size: drawn per batch from 1-64 \(seeded\) for every method; set by --batch/);
  // rollbacks 0.25*4 + 0.5*6 = 4; collapses 1.
  assert.match(md, /\| tent continual s1 \| 20 \| 10 \| 120 → 120 \(120\) \| 64\.0 → 80\.0 \| - \| 4 \| 1 \| 2 \|/);
  assert.equal(md.match(/continual s\d \|/g)?.length, 1, 'only runs that recorded memory');
  const html = renderHtml(r);
  assert.match(html, /<h2>Memory and stability<\/h2>/);
  assert.match(html, /live tensors after each domain/);
  assert.match(html, /<td>tent continual s1<\/td><td>20<\/td><td>10<\/td><td>120 → 120 \(120\)<\/td><td>64\.0 → 80\.0<\/td>/);
  assert.doesNotMatch(renderHtml(fixture()), /Memory and stability/);
  // Soak table over two result sets: only runs with memory; 20 images in 200 + 200 ms = 50 img/s,
  // mean error (40 + 18) / 2 = 29.0.
  const other = fixture();
  other.runs[0]!.domains.forEach((d) => Object.assign(d, { steps: 2, memory: { numTensors: 90, numBytes: 1 } }));
  const table = renderSoakTable([r, other]).split('\n');
  assert.equal(table.length, 4);
  assert.equal(table[2], '| tent continual s1 | 20 | 10 | 120 → 120 (120) | 64.0 → 80.0 | - | 4 | 1 | 2 | 50 | 29.0 |');
  assert.equal(table[3], '| source continual s1 | 20 | 4 | 90 → 90 (90) | - | - | 0 | 0 | 0 | 200 | 45.0 |');
});

test('html is self-contained, escaped, with the three charts and the raw results', () => {
  const results = fixture();
  const html = renderHtml(results);
  assert.doesNotMatch(html, /<script(?! type="application\/json")/, 'no executable scripts');
  assert.doesNotMatch(html, /(src|href)="http/, 'no external assets');
  assert.match(html, /<title>webtta benchmark - m&lt;1&gt;<\/title>/);
  assert.equal((html.match(/<svg /g) ?? []).length, 3, 'per-domain bars, stream curve, throughput');
  // 2 methods x 2 domains bars in the grouped chart + 4 throughput bars.
  assert.equal((html.match(/<rect [^>]*><title>/g) ?? []).length, 4);
  assert.match(html, /<td class="best">19\.0<\/td>/);
  const json = html.match(/<script type="application\/json" id="results">(.*)<\/script>/s)![1]!;
  assert.deepEqual(JSON.parse(json), results);
});

test('smooth is a trailing moving average', () => {
  assert.deepEqual(smooth([2, 4, 6, 8], 2), [2, 3, 5, 7]);
  assert.deepEqual(smooth([1, 2], 1), [1, 2]);
});
