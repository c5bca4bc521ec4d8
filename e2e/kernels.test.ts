// Custom kernels (src/kernels) agree with stock tfjs ops in headless Chromium: WGSL programs
// on webgpu (SwiftShader, correctness only) and the JS kernels on the threaded wasm heap.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('kernels');
});
after(async () => s?.close());

interface Compare {
  backend: string;
  errors: Record<string, number>;
  tensorGrowth: number;
}

for (const backend of ['webgpu', 'wasm']) {
  test(`${backend}: fused BatchNorm, entropy and padded conv match stock tfjs ops`, async () => {
    const r = await s.call<Compare>('compareOn', backend);
    assert.equal(r.backend, backend);
    const expected = ['bnForward', 'bnDx', 'bnDscale', 'bnDoffset', 'entropy', 'entropyGrad', 'convForward', 'convDx', 'convDw'];
    assert.deepEqual(Object.keys(r.errors).sort(), expected.sort());
    for (const [name, err] of Object.entries(r.errors)) assert.ok(err < 1e-4, `${backend} ${name}: relative error ${err}`);
    console.log(`${backend}: ${JSON.stringify(r.errors)}`);
    assert.equal(r.tensorGrowth, 0);
  });
}
