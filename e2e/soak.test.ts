/** The short soak of the e2e suite; the long one is scripts/soak.ts (docs/soak.md). */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('soak');
});
after(async () => {
  await s?.close();
});

for (const method of ['tent', 'bn']) {
  test(`${method}: 40 batches of 1..64 images in the worker keep tensors, bytes and the WASM heap flat, all outputs finite`, async () => {
    const r = await s.call<{ backend: string; samples: { batch: number; numTensors: number; numBytes: number; wasmHeapBytes: number; finite: boolean }[]; guardEvents: unknown[] }>('soak', 40, method);
    assert.equal(r.backend, 'wasm');
    const [first, ...rest] = r.samples;
    assert.ok(new Set(rest.map((x) => x.batch)).size > 20, 'many different batch sizes');
    for (const x of rest) {
      assert.equal(x.numTensors, first!.numTensors, `tensor count after a batch of ${x.batch}`);
      assert.equal(x.numBytes, first!.numBytes, `tensor bytes after a batch of ${x.batch}`);
      assert.equal(x.wasmHeapBytes, first!.wasmHeapBytes, `WASM heap after a batch of ${x.batch}`);
    }
    assert.ok(first!.wasmHeapBytes > 0);
    assert.ok(r.samples.every((x) => x.finite), 'no NaN/Inf in any lane');
    assert.deepEqual(r.guardEvents, [], 'no rollback or reset was needed');
  });
}
