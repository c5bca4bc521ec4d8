import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { samStep } from './sam.ts';
import { Sgd } from './optim.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

// L(w) = sum(0.5 * a * w^2 + b * w) over two variables, so grad = a * w + b.
const A = [[1, 2], [3]];
const B = [[0.5, -1], [0.25]];
const W0 = [[1, -2], [0.5]];

function loss(vars: tf.Variable[]) {
  return () =>
    tf.addN(vars.map((v, i) => tf.sum(tf.add(tf.mul(0.5, tf.mul(tf.tensor1d(A[i]!), tf.square(v))), tf.mul(tf.tensor1d(B[i]!), v))))) as tf.Scalar;
}

test('SAM two-step update equals the hand computation w - lr * grad(w + rho * g / ||g||)', async () => {
  const vars = W0.map((w) => tf.variable(tf.tensor1d(w)));
  const rho = 0.05;
  const lr = 0.1;
  const opt = new Sgd(vars, { lr });
  const r = await samStep(opt, rho, loss(vars));
  const g = W0.map((w, i) => w.map((wj, j) => A[i]![j]! * wj + B[i]![j]!));
  const norm = Math.sqrt(g.flat().reduce((s, x) => s + x * x, 0));
  const perturbed = W0.map((w, i) => w.map((wj, j) => wj + (rho * g[i]![j]!) / (norm + 1e-12)));
  const g2 = perturbed.map((w, i) => w.map((wj, j) => A[i]![j]! * wj + B[i]![j]!));
  const expected = W0.map((w, i) => w.map((wj, j) => wj - lr * g2[i]![j]!));
  vars.forEach((v, i) => assert.ok(maxAbsDiff(values(v), expected[i]!) < 1e-6, `${values(v)} vs ${expected[i]}`));
  const l = (w: number[][]) => w.reduce((s, wi, i) => s + wi.reduce((t, x, j) => t + 0.5 * A[i]![j]! * x * x + B[i]![j]! * x, 0), 0);
  assert.ok(Math.abs(r.firstLoss - l(W0)) < 1e-5);
  assert.ok(Math.abs(r.secondLoss - l(perturbed)) < 1e-5);
  opt.dispose();
  vars.forEach((v) => v.dispose());
});

test('with lr 0 the weights come back bit-exactly and no tensors leak', async () => {
  const vars = W0.map((w) => tf.variable(tf.tensor1d(w)));
  const before0 = vars.map(values);
  const opt = new Sgd(vars, { lr: 0 });
  await samStep(opt, 0.05, loss(vars));
  const n = tf.memory().numTensors;
  await samStep(opt, 0.05, loss(vars));
  assert.equal(tf.memory().numTensors, n);
  assert.deepEqual(vars.map(values), before0);
  opt.dispose();
  vars.forEach((v) => v.dispose());
});
