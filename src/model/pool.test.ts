// maxPoolValid's gradient vs a plain-JS reference (first maximum of each window gets dy).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { maxPoolValid } from './pool.ts';

before(async () => {
  await tf.setBackend('cpu');
});

function reference(x: Float32Array, dy: Float32Array, [n, h, w, c]: number[], k: [number, number], s: [number, number]) {
  const ho = Math.floor((h! - k[0]) / s[0]) + 1;
  const wo = Math.floor((w! - k[1]) / s[1]) + 1;
  const y = new Float32Array(n! * ho * wo * c!);
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let o = 0; o < ho; o++)
      for (let p = 0; p < wo; p++)
        for (let ch = 0; ch < c!; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < k[0]; i++)
            for (let j = 0; j < k[1]; j++) {
              const idx = ((b * h! + o * s[0] + i) * w! + p * s[1] + j) * c! + ch;
              if (x[idx]! > best) [best, at] = [x[idx]!, idx];
            }
          const oi = ((b * ho + o) * wo + p) * c! + ch;
          y[oi] = best;
          dx[at] += dy[oi]!;
        }
  return { y, dx, shape: [n!, ho, wo, c!] };
}

for (const backend of ['cpu', 'wasm']) {
  for (const [h, k, s] of [[9, 3, 2], [8, 2, 2], [9, 3, 1], [7, 2, 3]] as const) {
    test(`maxPoolValid on ${backend}: ${h}x${h}, kernel ${k}, stride ${s}`, async () => {
      await tf.setBackend(backend);
      const rng = new Rng(h * 10 + k);
      const shape = [2, h, h, 3];
      // Values on a coarse grid make ties, which must go to the first maximum.
      const xs = Float32Array.from({ length: 2 * h * h * 3 }, () => Math.round(rng.uniform(-4, 4)) / 2);
      const ref = reference(xs, new Float32Array(0), shape, [k, k], [s, s]);
      const dys = Float32Array.from({ length: ref.y.length }, () => rng.uniform(0, 1));
      const want = reference(xs, dys, shape, [k, k], [s, s]);
      const x = tf.tensor4d(xs, shape as [number, number, number, number]);
      const dy = tf.tensor4d(dys, want.shape as [number, number, number, number]);
      const y = maxPoolValid(x, [k, k], [s, s]);
      // (+0 folds -0 into 0: wasm may return either for a window of zeros)
      assert.deepEqual(Array.from(await y.data(), (v) => v + 0), Array.from(want.y, (v) => v + 0));
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(maxPoolValid(a as tf.Tensor4D, [k, k], [s, s]), dy)))(x);
      const got = await g.data();
      const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want.dx[i]!)));
      assert.ok(err < 1e-6, `max abs error ${err}`);
      tf.dispose([x, dy, y, g]);
      await tf.setBackend('cpu');
    });
  }
}
