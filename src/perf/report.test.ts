// The perf Markdown: ratios against the fastest PyTorch thread count and onnxruntime-web.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPerfMarkdown, type PerfReport } from './report.ts';
import type { CaseResult } from './steps.ts';

const wasmCase = (step: CaseResult['step'], imagesPerSec: number): CaseResult => ({
  engine: 'webtta', backend: 'wasm', batch: 64, step, msPerStep: 64000 / imagesPerSec, imagesPerSec, iters: 3, warmupMs: 1, peakBytes: 3 * 2 ** 20, leakedTensors: 0,
});

test('ratios use the fastest PyTorch thread count and the same batch', () => {
  const report: PerfReport = {
    date: '2026-11-25T00:00:00Z',
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, loadAvgStart: [1, 1, 1], loadAvgEnd: [2, 2, 2], node: 'v20' },
    backends: [
      {
        info: { backend: 'wasm', requested: 'wasm', wasmThreads: 2, crossOriginIsolated: true, skipped: [] },
        results: [wasmCase('forward', 150), wasmCase('tent', 60), wasmCase('full', 20)],
        skipped: [],
      },
    ],
    failedBackends: [{ backend: 'webgpu', error: 'no adapter' }],
    torch: {
      version: '1.13',
      results: [
        { threads: 1, step: 'tent', batch: 64, msPerStep: 400, imagesPerSec: 160, iters: 3 },
        { threads: 2, step: 'tent', batch: 64, msPerStep: 8000, imagesPerSec: 8, iters: 3 },
        { threads: 1, step: 'full', batch: 64, msPerStep: 640, imagesPerSec: 100, iters: 3 },
      ],
    },
    ort: [
      { engine: 'onnxruntime-web', backend: 'wasm (1 threads)', threads: 1, batchSize: 64, batches: 3, imagesPerSec: 90, firstBatchMs: 5 },
      { engine: 'onnxruntime-web', backend: 'wasm (2 threads)', threads: 2, batchSize: 64, batches: 3, imagesPerSec: 120, firstBatchMs: 5 },
    ],
  };
  const md = renderPerfMarkdown(report);
  // forward 150/120 (ORT with the row's 2 threads, not 1), Tent 60/160 (not 60/8), full 20/100.
  assert.match(md, /\| wasm \(2 threads\) \| 64 \| 150\.0 \| 60\.0 \| 20\.0 \| 1\.25x \| 0\.38x \| 0\.20x \| 3\.0 \| 0 \|/);
  assert.match(md, /\| 2 \| 64 \| - \| 8\.0 \| - \|/);
  assert.match(md, /webgpu did not run: no adapter/);
  assert.match(md, /\| 1 \| 64 \| 90\.0 \|/);
});

test('a webgpu run names its adapter, and a software one says so', () => {
  const run = (isFallbackAdapter: boolean) => renderPerfMarkdown({
    date: '2026-11-27T00:00:00Z',
    machine: { cpu: 'Test CPU', cores: 16, memoryGiB: 128, loadAvgStart: [0, 0, 0], loadAvgEnd: [0, 0, 0], node: 'v20' },
    backends: [{
      info: { backend: 'webgpu', requested: 'webgpu', adapter: { vendor: 'nvidia', architecture: 'hopper', description: '', isFallbackAdapter }, crossOriginIsolated: false, skipped: [] },
      results: [{ ...wasmCase('forward', 1000), backend: 'webgpu' }],
      skipped: [],
    }],
    failedBackends: [],
  });
  assert.match(run(false), /- webgpu adapter: nvidia, hopper\n/);
  assert.match(run(true), /- webgpu adapter: nvidia, hopper \(software fallback\)/);
});
