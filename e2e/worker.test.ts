import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('worker');
});
after(async () => {
  await s?.call('stop');
  await s?.close();
});

test('the worker loads an ONNX model and reproduces PyTorch probabilities', async () => {
  const started = await s.call<{ backend: string; model: { numClasses: number; inputShape: number[] }; bytesDetached: boolean }>(
    'start',
    'auto',
  );
  assert.equal(started.backend, 'wasm');
  assert.equal(started.model.numClasses, 10);
  assert.deepEqual(started.model.inputShape, [16, 16, 3]);
  assert.equal(started.bytesDetached, true, 'model bytes are transferred, not copied');
  const r = await s.call<{ maxErr: number; shape: number[]; batchDetached: boolean }>('predictFixture');
  assert.deepEqual(r.shape, [4, 10]);
  assert.ok(r.maxErr < 1e-5, `max prob error ${r.maxErr}`);
  assert.equal(r.batchDetached, true);
});

test('errors in the worker reach the caller by message and the worker keeps working', async () => {
  const before = await s.call<{ numTensors: number }>('memory');
  const e = await s.call<Record<string, string | null>>('badCalls');
  assert.match(e.wrongSize ?? '', /8x8x3 does not match the model input 16x16x3/);
  assert.match(e.empty ?? '', /empty batch/);
  assert.match(e.nan ?? '', /outside \[0, 1\]/);
  assert.ok(e.badModel, 'a malformed ONNX file is rejected');
  assert.match(e.badModel!, /garbage/, `names the file: ${e.badModel}`);
  const r = await s.call<{ maxErr: number }>('predictFixture');
  assert.ok(r.maxErr < 1e-5, 'the earlier model is intact after a failed load');
  const afterMem = await s.call<{ numTensors: number }>('memory');
  assert.equal(afterMem.numTensors, before.numTensors, 'failed calls leak no tensors');
});

test('ImageBitmaps are transferred, resized to the model input and classified', async () => {
  const r = await s.call<{ shape: number[]; rowSums: number[]; transferred: boolean }>('predictBitmaps');
  assert.deepEqual(r.shape, [2, 10]);
  r.rowSums.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5));
  assert.equal(r.transferred, true);
});
