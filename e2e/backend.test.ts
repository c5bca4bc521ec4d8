import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('backend');
});
after(async () => s?.close());

interface ConvResult {
  info: { backend: string; requested: string; wasmThreads?: number; adapter?: { isFallbackAdapter: boolean }; skipped: { backend: string }[] };
  values: number[];
  isolated: boolean;
}

test('page is cross-origin isolated and auto picks wasm over a software WebGPU adapter', async () => {
  const r = await s.call<ConvResult>('convOn', 'auto');
  assert.equal(r.isolated, true);
  assert.ok(r.info.adapter, 'a WebGPU adapter exists with --enable-unsafe-webgpu');
  assert.equal(r.info.adapter.isFallbackAdapter, true, 'SwiftShader is a software adapter');
  assert.equal(r.info.backend, 'wasm');
  assert.ok((r.info.wasmThreads ?? 0) >= 2, `threads when isolated: ${r.info.wasmThreads}`);
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
