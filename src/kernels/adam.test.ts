// The fused Adam kernel against the stock-op Adam of methods/shared/optim.ts: bit for bit on cpu
// and wasm, with and without weight decay, over several steps; and the kernel's own errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { Adam } from '../methods/shared/optim.ts';
import { adamUpdateFused, ADAM_UPDATE } from './adam.ts';
import { hasFusedUpdates, useFusedUpdates } from './multi-tensor.ts';

after(async () => {
  await tf.setBackend('cpu');
});

const SHAPES = [[3, 3, 2, 4], [16], [5, 2]];

/** Parameters after `steps` Adam steps on seeded gradients, fused kernel on or off. */
function run(backend: string, fused: boolean, opts: ConstructorParameters<typeof Adam>[1], steps = 4): Float32Array[] {
  const was = hasFusedUpdates(backend);
  useFusedUpdates(backend, fused);
  try {
    const rng = new Rng(7);
    const rand = (shape: number[], scale: number) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.uniform(-1, 1)), shape);
    const vars = SHAPES.map((s) => tf.variable(rand(s, 1)));
    const opt = new Adam(vars, opts);
    const before = tf.memory().numTensors;
    for (let t = 0; t < steps; t++) {
      const grads = SHAPES.map((s) => rand(s, 0.5));
      opt.step(grads);
      tf.dispose(grads);
      // Moments are allocated by the first step; afterwards a step must leave the count as it was.
      if (t > 0) assert.equal(tf.memory().numTensors, before + 2 * vars.length, `step ${t + 1} leaked`);
    }
    const out = vars.map((v) => v.dataSync() as Float32Array);
    opt.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    useFusedUpdates(backend, was);
  }
}

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: fused Adam equals the stock-op Adam bit for bit (with and without weight decay)`, async () => {
    await tf.setBackend(backend);
    for (const opts of [{ lr: 1e-3 }, { lr: 0.05, betas: [0.8, 0.99] as [number, number], eps: 1e-3, weightDecay: 0.1 }]) {
      const stock = run(backend, false, opts);
      const fused = run(backend, true, opts);
      stock.forEach((s, i) => assert.deepEqual(fused[i], s, `${backend} ${JSON.stringify(opts)} tensor ${i}`));
      // The parameters moved: the comparison is not between two unchanged copies.
      assert.ok(stock[1]!.some((x, j) => x !== run(backend, false, opts, 0)[1]![j]));
    }
  });
}

test('the fused Adam kernel names a shape mismatch', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.zeros([4]), true, 'bn.weight');
  const ok = tf.zeros([4]);
  assert.throws(
    () => adamUpdateFused(p, tf.zeros([3]), ok, ok, { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3, bc2Sqrt: 1, weightDecay: 0 }),
    new RegExp(`${ADAM_UPDATE}: gradient has shape \\[3\\], the parameter bn.weight \\[4\\]`),
  );
  tf.dispose([p, ok]);
});
