// In headless Chromium: logits of our runtime (wasm, webgpu, cpu) vs onnxruntime-web on the
// same ONNX bytes, and vs the PyTorch reference saved with the fixture.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('parity');
});
after(async () => s?.close());

interface Parity {
  backend: string;
  vsOrt: number;
  vsTorch: number;
  ortVsTorch: number;
  size: number;
  leaked: number;
}

for (const backend of ['wasm', 'webgpu', 'cpu']) {
  for (const name of ['resnet-tiny', 'segmenter-tiny']) {
    test(`${name} on ${backend}: logits equal onnxruntime-web and PyTorch within 1e-4`, async () => {
      const r = await s.call<Parity>('parity', backend, name);
      console.log(`${name} ${r.backend}: vs ort ${r.vsOrt.toExponential(2)}, vs torch ${r.vsTorch.toExponential(2)}, ort vs torch ${r.ortVsTorch.toExponential(2)}`);
      assert.equal(r.backend, backend);
      assert.ok(r.size >= 40);
      assert.ok(r.vsOrt < 1e-4, `max abs error vs onnxruntime-web ${r.vsOrt}`);
      assert.ok(r.vsTorch < 1e-4, `max abs error vs PyTorch ${r.vsTorch}`);
      assert.equal(r.leaked, 0, 'forward leaves no tensors behind');
    });
  }
}
