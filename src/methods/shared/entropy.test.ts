import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { softmaxEntropy, softCrossEntropy, probsEntropy, crossEntropy } from './entropy.ts';
import { useCpuBackend, values, maxAbsDiff } from '../testing/backend.ts';

before(useCpuBackend);

test('entropy of uniform logits is ln C and of a one-hot-like row is ~0, per row and per pixel', () => {
  const h = softmaxEntropy(tf.tensor2d([[0, 0, 0, 0], [50, 0, 0, 0]]));
  assert.ok(Math.abs(values(h)[0]! - Math.log(4)) < 1e-6);
  assert.ok(values(h)[1]! < 1e-6);
  const seg = softmaxEntropy(tf.zeros([2, 3, 5, 7]));
  assert.deepEqual(seg.shape, [2, 3, 5]);
  assert.ok(maxAbsDiff(values(seg), new Array(30).fill(Math.log(7))) < 1e-5);
});

test('entropy gradient matches the closed form -p * (log p + H)', () => {
  const z = tf.tensor1d([0.3, -1.2, 2.0, 0.5]);
  const g = tf.grad((x: tf.Tensor) => tf.sum(softmaxEntropy(tf.reshape(x, [1, 4]))))(z);
  const zs = [0.3, -1.2, 2.0, 0.5];
  const m = Math.max(...zs);
  const e = zs.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / s);
  const H = -p.reduce((a, pi) => a + pi * Math.log(pi), 0);
  const expected = p.map((pi) => -pi * (Math.log(pi) + H));
  assert.ok(maxAbsDiff(values(g), expected) < 1e-6, `${values(g)} vs ${expected}`);
});

test('soft cross-entropy value and gradient softmax(z) - q', () => {
  const z = tf.tensor2d([[1, 2, 3]]);
  const q = tf.tensor2d([[0.2, 0.3, 0.5]]);
  const pz = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const sum = pz.reduce((a, b) => a + b, 0);
  const probs = pz.map((v) => v / sum);
  const ce = -[0.2, 0.3, 0.5].reduce((a, qi, i) => a + qi * Math.log(probs[i]!), 0);
  assert.ok(Math.abs(values(softCrossEntropy(z, q))[0]! - ce) < 1e-6);
  const g = tf.grad((x: tf.Tensor) => tf.sum(softCrossEntropy(x, q)))(z);
  assert.ok(maxAbsDiff(values(g), probs.map((v, i) => v - [0.2, 0.3, 0.5][i]!)) < 1e-6);
});

test('probsEntropy uses log(p + eps) and crossEntropy is the mean NLL', () => {
  const h = probsEntropy(tf.tensor2d([[0.5, 0.5, 0]]), 1e-5);
  assert.ok(Math.abs(values(h)[0]! - -Math.log(0.5 + 1e-5)) < 1e-6);
  const ce = crossEntropy(tf.tensor2d([[0, 0], [Math.log(3), 0]]), tf.tensor1d([0, 1], 'int32'));
  assert.ok(Math.abs(values(ce)[0]! - (Math.log(2) + Math.log(4)) / 2) < 1e-6);
});
