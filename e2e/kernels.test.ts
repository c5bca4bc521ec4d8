// Custom kernels (src/kernels) agree with stock tfjs ops in headless Chromium: WGSL programs
// on webgpu (SwiftShader, correctness only) and the JS / WebAssembly SIMD kernels on the
// threaded wasm heap.
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
  simdBatchNorm: boolean;
  wasmThreads?: number;
}

for (const backend of ['webgpu', 'wasm']) {
  test(`${backend}: fused BatchNorm, entropy and padded conv match stock tfjs ops`, async () => {
    const r = await s.call<Compare>('compareOn', backend);
    assert.equal(r.backend, backend);
    const expected = ['affine', 'bnForward', 'bnDx', 'bnDscale', 'bnDoffset', 'entropy', 'entropyGrad', 'convForward', 'convDx', 'convDw'];
    assert.deepEqual(Object.keys(r.errors).sort(), expected.sort());
    for (const [name, err] of Object.entries(r.errors)) assert.ok(err < 1e-4, `${backend} ${name}: relative error ${err}`);
    console.log(`${backend}: ${JSON.stringify(r.errors)}`);
    assert.equal(r.tensorGrowth, 0);
    // Threaded wasm: BatchNorm runs as SIMD on tfjs-wasm's shared memory, not as the JS fallback.
    if (backend === 'wasm') assert.deepEqual([r.simdBatchNorm, r.wasmThreads! > 1], [true, true]);
  });
}

interface Updates {
  backend: string;
  fusedUpdates: boolean;
  ema: number[][];
  sam: number[][];
  restore: number[][];
  adam: number[][];
  sgd: number[][];
}

test('EMA, SAM perturbation, stochastic restore, Adam and SGD agree on cpu, wasm and webgpu (restore masks bit-exact)', async () => {
  const cpu = await s.call<Updates>('updatesOn', 'cpu');
  assert.equal(cpu.fusedUpdates, false); // the reference: stock ops
  for (const backend of ['wasm', 'webgpu']) {
    const r = await s.call<Updates>('updatesOn', backend);
    assert.deepEqual([r.backend, r.fusedUpdates], [backend, true]);
    for (const key of ['ema', 'sam', 'adam', 'sgd'] as const) {
      const diff = Math.max(...r[key].flatMap((t, i) => t.map((v, j) => Math.abs(v - cpu[key][i]![j]!))));
      assert.ok(diff < 1e-6, `${backend} ${key}: max diff ${diff}`);
    }
    // Restored elements equal the student exactly and the rest the perturbed teacher: compare masks.
    const changed = (x: Updates) => x.restore.map((t, i) => t.map((v, j) => v !== x.sam[i]![j]));
    assert.deepEqual(changed(r), changed(cpu));
    const frac = changed(r).flat().filter(Boolean).length / changed(r).flat().length;
    assert.ok(frac > 0.15 && frac < 0.35, `restored fraction ${frac}`);
  }
});

interface ManyInputs {
  backend: string;
  sum: number[];
  sam: number[][];
  validationError: string | null;
}

// An AddN over more inputs than a shader stage may bind as storage buffers made the whole
// batched WebGPU command buffer invalid, and the queue dropped it: STAMP's SAM step then read
// unwritten buffers (NaN parameters). The webgpu AddN now sums in groups that fit.
test('webgpu: addN and the SAM perturbation over more tensors than a shader stage binds match cpu, no validation errors', async () => {
  const cpu = await s.call<ManyInputs>('manyInputsOn', 'cpu');
  const r = await s.call<ManyInputs>('manyInputsOn', 'webgpu');
  assert.equal(r.backend, 'webgpu');
  assert.equal(r.validationError, null);
  const sumDiff = Math.max(...r.sum.map((v, j) => Math.abs(v - cpu.sum[j]!)));
  assert.ok(sumDiff < 1e-5, `addN: max diff ${sumDiff}`);
  const samDiff = Math.max(...r.sam.flatMap((t, i) => t.map((v, j) => Math.abs(v - cpu.sam[i]![j]!))));
  assert.ok(samDiff < 1e-6, `SAM perturbation: max diff ${samDiff}`);
});
