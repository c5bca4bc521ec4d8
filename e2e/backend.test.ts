import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('backend');
});
after(async () => s?.close());

interface ConvResult {
  info: { backend: string; requested: string; wasmThreads?: number; wasmSimd?: boolean; adapter?: { isFallbackAdapter: boolean }; skipped: { backend: string }[] };
  values: number[];
  isolated: boolean;
  cores: number;
  coresAfter: number;
}

test('page is cross-origin isolated and auto picks wasm over a software WebGPU adapter', async () => {
  const r = await s.call<ConvResult>('convOn', 'auto');
  assert.equal(r.isolated, true);
  assert.ok(r.info.adapter, 'a WebGPU adapter exists with --enable-unsafe-webgpu');
  assert.equal(r.info.adapter.isFallbackAdapter, true, 'SwiftShader is a software adapter');
  assert.equal(r.info.backend, 'wasm');
  // The threads tfjs-wasm really runs (getThreadsCount): one per core, at most its 8 workers,
  // although its build would cap the pool at half the cores (initBackend lifts that cap).
  assert.equal(r.info.wasmThreads, Math.min(8, r.cores), `${r.info.wasmThreads} threads on ${r.cores} cores`);
  assert.equal(r.coresAfter, r.cores, 'navigator.hardwareConcurrency is the real value again after start-up');
  assert.equal(r.info.wasmSimd, true);
  assert.ok(r.info.skipped.some((x) => x.backend === 'webgpu'));
});

test('explicit backends run and agree with each other', async () => {
  const wasm = await s.call<ConvResult>('convOn', 'wasm');
  for (const name of ['cpu', 'webgpu', 'webgl']) {
    const r = await s.call<ConvResult>('convOn', name);
    assert.equal(r.info.backend, name);
    const maxDiff = Math.max(...r.values.map((v, i) => Math.abs(v - wasm.values[i]!)));
    assert.ok(maxDiff < 1e-4, `${name} vs wasm max diff ${maxDiff}`);
  }
});
