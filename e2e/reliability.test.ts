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

test('restarts off (maxRestarts 0): a terminated worker fails the call in flight and later calls clearly, no hang, no new worker', async () => {
  const r = await s.call<{ during: string; later: string; restarts: number; worker: boolean }>('noRestartAfterTerminate', 3000);
  assert.match(r.during, /^WorkerStoppedError: predict: the runtime worker ended during the call \(the worker ended \(crashed or terminated\)\); restarts are off \(maxRestarts 0\)$/);
  assert.match(r.later, /^WorkerStoppedError: memory: the runtime worker ended \(the worker ended \(crashed or terminated\)\) and restarts are off \(maxRestarts 0\): not restarting$/);
  assert.equal(r.restarts, 0);
  assert.equal(r.worker, false, 'no worker was started again');
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

test('bad inputs each get their own error; the worker, its adapted state and tensor count come through unchanged', async () => {
  const r = await s.call<{ errors: Record<string, string | null>; sameState: boolean; tensorsBefore: number; tensorsAfter: number; nextSteps: number; restarts: number }>('badInputsKeepState');
  const e = r.errors;
  assert.match(e.truncatedOnnx ?? '', /half\.onnx: malformed ONNX file/);
  assert.match(e.unsupportedOp ?? '', /celu\.onnx: unsupported op 'Celu' at node '[^']+'/);
  assert.match(e.malformedModelJson ?? '', /model\.json/);
  assert.match(e.wrongSize ?? '', /image size 8x8x3 does not match the model input 16x16x3/);
  assert.match(e.wrongChannels ?? '', /image size 16x16x4 does not match the model input 16x16x3/);
  assert.match(e.emptyBatch ?? '', /empty batch/);
  assert.match(e.shortBuffer ?? '', /image batch has 100 values, shape \[2,16,16,3\] needs 1536/);
  assert.match(e.nanPixels ?? '', /float image value NaN at index 0 is outside \[0, 1\]/);
  assert.match(e.corruptImage ?? '', /cannot decode frame\.png: /);
  assert.match(e.notAnImage ?? '', /labels\.html is neither PNG nor JPEG/);
  assert.ok(r.sameState, 'adapted parameters and optimiser state are bit-identical after all the failures');
  assert.equal(r.tensorsAfter, r.tensorsBefore, 'failed calls leak no tensors');
  assert.equal(r.nextSteps, 3, 'the next good batch adapts as step 3');
  assert.equal(r.restarts, 0, 'no bad input killed the worker');
});
