// The wasm backend's SIMD BatchNorm kernels (batch-norm-simd.wat) against the JS cores they
// replace (the same registered kernels with useSimdBatchNorm(false)), and the committed binary
// against a fresh build of the .wat.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { BN_FORWARD, BN_GRAD_INPUT, BN_GRAD_PARAMS, channelAffine } from './batch-norm.ts';
import { bnSimd, useSimdBatchNorm } from './batch-norm-simd.ts';
import { KERNELS_MODULE, kernelsModuleText } from '../../scripts/build-kernels.ts';

before(async () => {
  await tf.setBackend('wasm');
});
after(async () => {
  useSimdBatchNorm(true);
  await tf.setBackend('cpu');
});

test('the committed kernel binary is a build of batch-norm-simd.wat', async () => {
  assert.equal(readFileSync(KERNELS_MODULE, 'utf8'), await kernelsModuleText(), 'run npm run build:kernels');
});

test("Node's tfjs-wasm (non-threaded, unshared memory) runs the SIMD kernels", () => {
  assert.ok(bnSimd(tf.backend()));
});

type Outputs = Record<string, Float32Array>;

/** Every fused BatchNorm kernel on the same inputs, with the SIMD kernels on or off. */
function runAll(simd: boolean, x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, dy: tf.Tensor, eps: number): Outputs {
  useSimdBatchNorm(simd);
  try {
    const e = tf.engine();
    const [y, stats] = e.runKernel(BN_FORWARD, { x, scale, offset }, { epsilon: eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const grads = e.runKernel(BN_GRAD_PARAMS, { dy, x, stats: stats! }) as tf.Tensor;
    const dx = e.runKernel(BN_GRAD_INPUT, { dy, x, stats: stats!, scale, grads }) as tf.Tensor;
    const affine = channelAffine(x, scale as tf.Tensor1D, offset as tf.Tensor1D);
    const out = { y: y!, stats: stats!, grads, dx, affine };
    const values = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dataSync() as Float32Array]));
    tf.dispose(Object.values(out));
    return values;
  } finally {
    useSimdBatchNorm(true);
  }
}

/** ||a - ref|| / ||scale||: the scale is the reference itself or, where it cancels to ~0, its largest term. */
function relErr(a: Float32Array, ref: Float64Array, scale: Float64Array = ref): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    n += scale[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

/** The elementwise outputs in float64 from the (float32) inputs, statistics and parameter gradients. */
function float64Reference(x: Float32Array, scale: Float32Array, offset: Float32Array, dy: Float32Array, stats: Float32Array, grads: Float32Array) {
  const c = scale.length;
  const m = x.length / c;
  const [y, dx, dyTerm, affine] = [0, 0, 0, 0].map(() => new Float64Array(x.length));
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    const [mean, invStd, dScale, dOffset] = [stats[k]!, stats[c + k]!, grads[k]!, grads[c + k]!];
    const xHat = (x[i]! - mean) * invStd;
    y[i] = xHat * scale[k]! + offset[k]!;
    dyTerm[i] = scale[k]! * invStd * dy[i]!;
    dx[i] = scale[k]! * invStd * (dy[i]! - dOffset / m - (xHat * dScale) / m);
    affine[i] = x[i]! * scale[k]! + offset[k]!;
  }
  return { y, dx, dyTerm, affine };
}

function rand(rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)), shape);
}

for (const c of [3, 5, 16, 64]) {
  for (const m of [1, 7, 1000]) {
    for (const mean of [0.5, 1000]) {
      test(`SIMD BatchNorm kernels vs the JS cores, ${m} rows x ${c} channels, mean ${mean}: same sums, outputs within 1e-6 of float64`, () => {
        const rng = new Rng(c * 1009 + m * 7 + mean);
        // |mean| >> std (1000 vs ~0.6) is where an unshifted one-pass variance would cancel.
        const x = tf.tidy(() => tf.add(rand(rng, [m, c], -1, 1), mean));
        const scale = rand(rng, [c], 0.5, 1.5);
        const offset = rand(rng, [c], -0.5, 0.5);
        const dy = rand(rng, [m, c], -1, 1);
        const simd = runAll(true, x, scale, offset, dy, 1e-5);
        const js = runAll(false, x, scale, offset, dy, 1e-5);
        // Per-channel sums: float64 in the same order and arithmetic, so identical.
        assert.deepEqual(simd.stats, js.stats);
        assert.deepEqual(simd.grads, js.grads);
        // Elementwise, against float64: SIMD computes in float32 with the mean subtracted first
        // (the JS cores compute in float64 but fold the mean into a float32 offset, which loses
        // digits when |mean| >> std); no worse than the JS cores, within 1e-6.
        const ref = float64Reference(...([x, scale, offset, dy].map((t) => t.dataSync()) as [Float32Array, Float32Array, Float32Array, Float32Array]), simd.stats!, simd.grads!);
        for (const [k, scaleOf] of [['y', ref.y], ['dx', ref.dyTerm], ['affine', ref.affine]] as const) {
          const [eSimd, eJs] = [relErr(simd[k]!, ref[k], scaleOf), relErr(js[k]!, ref[k], scaleOf)];
          assert.ok(eSimd < 1e-6 && eSimd <= Math.max(eJs, 1e-7) * 2, `${k}: rel err ${eSimd} (JS ${eJs})`);
        }
        tf.dispose([x, scale, offset, dy]);
      });
    }
  }
}

test('SIMD BatchNorm: mean 10000, variance 1 exactly, per channel (one-pass variance shifted)', () => {
  const [m, c] = [1001, 5];
  // Rows alternate 10000 + k/4 -/+ 1 for channel k, with one extra row at the mean: variance (m - 1) / m.
  const values = Float32Array.from({ length: m * c }, (_, i) => {
    const row = Math.floor(i / c);
    return 10000 + (i % c) / 4 + (row === m - 1 ? 0 : row % 2 ? 1 : -1);
  });
  const x = tf.tensor2d(values, [m, c]);
  const out = runAll(true, x, tf.ones([c]), tf.zeros([c]), tf.zeros([m, c]), 0);
  const invStd = 1 / Math.sqrt((m - 1) / m);
  for (let k = 0; k < c; k++) {
    assert.equal(out.stats![k], 10000 + k / 4);
    assert.equal(out.stats![c + k], Math.fround(invStd));
  }
  assert.deepEqual(Array.from(out.y!.subarray(0, 2 * c)), [...Array(c).fill(Math.fround(-invStd)), ...Array(c).fill(Math.fround(invStd))]);
  tf.dispose(x);
});

test('SIMD BatchNorm kernels still agree after the wasm heap grows', () => {
  const rng = new Rng(99);
  const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  const x = rand(rng, [300, 16], -1, 1);
  const [scale, offset, dy] = [rand(rng, [16], 0.5, 1.5), rand(rng, [16], -1, 1), rand(rng, [300, 16], -1, 1)];
  const before = runAll(true, x, scale, offset, dy, 1e-5);
  const start = heapBytes();
  const big = tf.zeros([start / 4 + 1]); // more floats than the heap holds: memory.grow
  assert.ok(heapBytes() > start);
  const x2 = tf.add(x, 0); // allocated after the growth
  const afterGrow = runAll(true, x2, scale, offset, dy, 1e-5);
  for (const k of Object.keys(before)) assert.deepEqual(afterGrow[k], before[k], k);
  tf.dispose([x, x2, big, scale, offset, dy]);
});
