import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';
import type { MethodRun } from './pages/methods.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('methods');
});
after(async () => s?.close());

test('every TTA method runs in Chromium on wasm, leaks nothing and agrees with the cpu backend', async () => {
  const wasm = await s.call<{ backend: string; runs: MethodRun[] }>('runAll', 'wasm');
  const cpu = await s.call<{ backend: string; runs: MethodRun[] }>('runAll', 'cpu');
  assert.equal(wasm.backend, 'wasm');
  assert.equal(cpu.backend, 'cpu');
  assert.equal(wasm.runs.length, 12);
  wasm.runs.forEach((r, i) => {
    const ref = cpu.runs[i]!;
    assert.equal(r.name, ref.name);
    assert.equal(r.growth, 0, `${r.name}: ${r.growth} tensors leaked in a step on wasm`);
    assert.equal(r.probs.length, 80);
    const diff = Math.max(...r.probs.map((p, k) => Math.abs(p - ref.probs[k]!)));
    assert.ok(diff < 2e-3, `${r.name}: wasm vs cpu second-step probabilities differ by ${diff}`);
  });
  console.log(`wasm ms per step (resnet-tiny, batch 8): ${wasm.runs.map((r) => `${r.name} ${r.ms.toFixed(0)}`).join(', ')}`);
});
