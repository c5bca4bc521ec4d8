// Backend choice: which WebGPU adapters count as software, the order backends are tried in,
// and what initBackend reports about the wasm backend it got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeAdapter, initBackend, planBackends, type AdapterInfo } from './backend.ts';

const hardware = describeAdapter({ info: { vendor: 'nvidia', architecture: 'ampere', description: '', isFallbackAdapter: false } });
// Headless Chromium's SwiftShader adapter flags itself as a fallback adapter.
const swiftShader = describeAdapter({ info: { vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: true } });

test('software adapters are recognised whether or not they call themselves fallback adapters', () => {
  assert.equal(hardware.isFallbackAdapter, false);
  assert.equal(swiftShader.isFallbackAdapter, true);
  // A software rasteriser that does not set isFallbackAdapter is recognised by name.
  assert.equal(describeAdapter({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', isFallbackAdapter: false } }).isFallbackAdapter, true);
  // Chromium before adapter.info carried the flag on the adapter itself.
  assert.equal(describeAdapter({ isFallbackAdapter: true }).isFallbackAdapter, true);
  assert.deepEqual(describeAdapter({}), { vendor: '', architecture: '', description: '', isFallbackAdapter: false });
});

test('auto prefers webgpu on a hardware adapter and skips a software one or none', () => {
  assert.deepEqual(planBackends('auto', hardware), { order: ['webgpu', 'wasm', 'webgl', 'cpu'], skipped: [] });
  const soft = planBackends('auto', swiftShader);
  assert.deepEqual(soft.order, ['wasm', 'webgl', 'cpu']);
  assert.deepEqual(soft.skipped.map((s) => s.backend), ['webgpu']);
  assert.match(soft.skipped[0]!.reason, /software adapter \(google/);
  const none = planBackends('auto', undefined);
  assert.deepEqual(none.order, ['wasm', 'webgl', 'cpu']);
  assert.match(none.skipped[0]!.reason, /no WebGPU adapter/);
});

test('an explicit backend is the only one tried; webgpu on a software adapter is allowed when asked for', () => {
  assert.deepEqual(planBackends('webgpu', swiftShader), { order: ['webgpu'], skipped: [] });
  const none = planBackends('webgpu', undefined);
  assert.deepEqual(none.order, []);
  assert.deepEqual(none.skipped.map((s) => s.backend), ['webgpu']);
  for (const name of ['wasm', 'webgl', 'cpu'] as const) {
    const adapters: (AdapterInfo | undefined)[] = [hardware, swiftShader, undefined];
    for (const a of adapters) assert.deepEqual(planBackends(name, a), { order: [name], skipped: [] });
  }
});

test('wasm in Node: the thread count and SIMD support tfjs actually got', async () => {
  const info = await initBackend('wasm');
  assert.equal(info.backend, 'wasm');
  // Node is not cross-origin isolated: the single-threaded SIMD build.
  assert.equal(info.crossOriginIsolated, false);
  assert.equal(info.wasmThreads, 1);
  assert.equal(info.wasmSimd, true);
});
