// The fused Adam and SGD kernels against the stock-op optimisers of methods/shared/optim.ts:
// bit for bit on cpu and wasm, over several steps, in each configuration; and their errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { Adam, Sgd, type Optimizer } from '../methods/shared/optim.ts';
import { adamUpdateFused, ADAM_UPDATE } from './adam.ts';
import { sgdUpdateFused, SGD_UPDATE } from './sgd.ts';
import { hasFusedUpdates, useFusedUpdates } from './multi-tensor.ts';

after(async () => {
  await tf.setBackend('cpu');
});

const SHAPES = [[3, 3, 2, 4], [16], [5, 2]];

type Make = (vars: tf.Variable[]) => Optimizer;

/** Parameters after `steps` optimiser steps on seeded gradients, fused kernels on or off. */
function run(backend: string, fused: boolean, make: Make, steps = 4): Float32Array[] {
  const was = hasFusedUpdates(backend);
  useFusedUpdates(backend, fused);
  try {
    const rng = new Rng(7);
    const rand = (shape: number[], scale: number) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.uniform(-1, 1)), shape);
    const vars = SHAPES.map((s) => tf.variable(rand(s, 1)));
    const opt = make(vars);
    let perStep = 0;
    for (let t = 0; t < steps; t++) {
      const grads = SHAPES.map((s) => rand(s, 0.5));
      opt.step(grads);
      tf.dispose(grads);
      // Slots are allocated by the first step; afterwards a step must leave the count as it was.
      if (t === 0) perStep = tf.memory().numTensors;
      else assert.equal(tf.memory().numTensors, perStep, `step ${t + 1} leaked`);
    }
    const out = vars.map((v) => v.dataSync() as Float32Array);
    opt.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    useFusedUpdates(backend, was);
  }
}

const CONFIGS: [string, Make][] = [
  ['adam', (v) => new Adam(v, { lr: 1e-3 })],
  ['adam wd eps', (v) => new Adam(v, { lr: 0.05, betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1 })],
  ['sgd plain', (v) => new Sgd(v, { lr: 0.1 })],
  ['sgd momentum dampening wd', (v) => new Sgd(v, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })],
  ['sgd nesterov', (v) => new Sgd(v, { lr: 0.01, momentum: 0.9, nesterov: true })],
];

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: fused Adam and SGD equal the stock-op optimisers bit for bit`, async () => {
    await tf.setBackend(backend);
    for (const [label, make] of CONFIGS) {
      const stock = run(backend, false, make);
      const fused = run(backend, true, make);
      stock.forEach((s, i) => assert.deepEqual(fused[i], s, `${backend} ${label} tensor ${i}`));
      // The parameters moved: the comparison is not between two unchanged copies.
      const start = run(backend, false, make, 0);
      assert.ok(stock[1]!.some((x, j) => x !== start[1]![j]), `${label} did not move`);
    }
  });
}

test('the fused Adam and SGD kernels name a shape mismatch', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.zeros([4]), true, 'bn.weight');
  const ok = tf.zeros([4]);
  assert.throws(
    () => adamUpdateFused(p, tf.zeros([3]), ok, ok, { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3, bc2Sqrt: 1, weightDecay: 0 }),
    new RegExp(`${ADAM_UPDATE}: gradient has shape \\[3\\], the parameter bn.weight \\[4\\]`),
  );
  assert.throws(
    () => sgdUpdateFused(p, ok, tf.zeros([2, 2]), { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 }),
    new RegExp(`${SGD_UPDATE}: momentum buffer has shape \\[2,2\\], the parameter bn.weight \\[4\\]`),
  );
  tf.dispose([p, ok]);
});
