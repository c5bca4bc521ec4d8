import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('reliability');
});
after(async () => {
  await s?.close();
});

interface Restart {
  events: { reason: string; backend: string; restoredSteps: number | null; count: number; ms: number }[];
  inflight: string | null;
  savedSteps: number;
  restoredSame: boolean;
  sameNext: boolean;
}

test('a terminated worker is noticed, restarted and restored; the call in flight fails clearly', async () => {
  const r = await s.call<Restart>('restartAfter', 'terminate');
  assert.match(r.inflight ?? '', /WorkerStoppedError: stepLanes: the runtime worker ended during the call \(the worker ended \(crashed or terminated\)\)/);
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0]!.backend, 'wasm');
  assert.equal(r.events[0]!.restoredSteps, 3);
  assert.equal(r.savedSteps, 3);
  assert.ok(r.restoredSame, 'the restored adapted state (parameters and Adam moments) equals the saved one bit for bit');
  assert.ok(r.sameNext, 'the next step equals that of a client that never stopped');
});

test('a worker that ends itself (crash) is restarted the same way', async () => {
  const r = await s.call<Restart>('restartAfter', 'exit');
  assert.equal(r.inflight, null, 'the fault call answers, then the worker ends');
  assert.equal(r.events.length, 1);
  assert.match(r.events[0]!.reason, /^exit: /);
  assert.equal(r.events[0]!.restoredSteps, 3);
  assert.ok(r.restoredSame);
  assert.ok(r.sameNext);
});

test('control: the plain client never hears back from a terminated worker', async () => {
  assert.equal(await s.call<string>('plainClientAfterTerminate'), 'no answer after 3 s');
});

test('a lost WebGPU device: restart on wasm with the adapted state, and carry on', async () => {
  const r = await s.call<{ firstBackend: string; events: Restart['events']; fault: string | null; restoredSame: boolean; finite: boolean; stepsAfter: number }>('deviceLost');
  assert.equal(r.firstBackend, 'webgpu');
  assert.equal(r.events.length, 1);
  assert.match(r.events[0]!.reason, /^device-lost: WebGPU device lost \(destroyed\)/);
  assert.equal(r.events[0]!.backend, 'wasm');
  assert.equal(r.events[0]!.restoredSteps, 2);
  assert.ok(r.restoredSame, 'state adapted on webgpu is restored bit-exactly on wasm');
  assert.ok(r.finite);
  assert.equal(r.stepsAfter, 3);
});
