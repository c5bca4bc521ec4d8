import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { affinity, laplacianOptimize } from './laplacian.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

test('kNN affinity on points of a line picks the nearest others; rbf uses the mean k-th distance', () => {
  const x = tf.tensor2d([[0], [1], [3], [7]]);
  assert.deepEqual(values(affinity(x, 'knn', 1, false)), [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
  // k = 2 with the point itself first: 2nd smallest distances 1, 1, 2, 4 -> sigma 2.
  const rbf = values(affinity(x, 'rbf', 2, false));
  assert.ok(Math.abs(rbf[1]! - Math.exp(-1 / 8)) < 1e-6 && Math.abs(rbf[3]! - Math.exp(-49 / 8)) < 1e-6 && Math.abs(rbf[0]! - 1) < 1e-6);
  const sym = values(affinity(x, 'knn', 1, true));
  assert.equal(sym[2 * 4 + 1], 0.5);
});

test('without affinity the output is the model prediction; with it Y is a fixed point of softmax(log p + W Y)', async () => {
  const p = tf.tensor2d([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.2, 0.6], [0.45, 0.45, 0.1]]);
  const unary = tf.neg(tf.log(tf.add(p, 1e-10))) as tf.Tensor2D;
  const none = await laplacianOptimize(unary, tf.zeros([4, 4]));
  assert.ok(maxAbsDiff(values(none.probs), values(p)) < 1e-6);
  const w = tf.tensor2d([[0, 1, 0, 1], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 0, 0]]);
  const r = await laplacianOptimize(unary, w);
  assert.ok(r.iterations > 2 && r.iterations < 100);
  const again = tf.softmax(tf.add(tf.neg(unary), tf.matMul(w, r.probs)));
  assert.ok(maxAbsDiff(values(again), values(r.probs)) < 1e-4, 'fixed point');
  // Connected samples 0, 1, 3 agree on class 0 after smoothing; the isolated one keeps its prediction.
  const y = r.probs.arraySync();
  assert.equal(y[1]!.indexOf(Math.max(...y[1]!)), 0);
  assert.ok(maxAbsDiff(y[2]!, [0.2, 0.2, 0.6]) < 1e-6);
});
