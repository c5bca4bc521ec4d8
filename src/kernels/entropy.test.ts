// Fused softmax entropy vs -sum(softmax * log_softmax) from tfjs ops, on cpu and wasm.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { softmaxEntropyFused } from './entropy.ts';

after(async () => {
  await tf.setBackend('cpu');
});

const reference = (z: tf.Tensor) => {
  const logp = tf.logSoftmax(z, -1);
  return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
};

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / tf.norm(b).dataSync()[0]!);
}

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: fused entropy and its gradient equal the tfjs composite`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(11);
    for (const shape of [[5, 10], [2, 3, 4, 7]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // Large logits check the max-shift (exp(60) overflows nothing after it).
      const z = tf.tensor(Float32Array.from({ length: n }, (_, i) => rng.uniform(-4, 4) + (i % 3 === 0 ? 60 : 0)), shape);
      const w = tf.tensor(Float32Array.from({ length: n / shape[shape.length - 1]! }, () => rng.uniform(-1, 1)), shape.slice(0, -1));
      const h = softmaxEntropyFused(z);
      const hRef = reference(z);
      assert.deepEqual(h.shape, hRef.shape);
      assert.ok(relErr(h, hRef) < 1e-5, `entropy rel err ${relErr(h, hRef)}`);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(softmaxEntropyFused(a), w)))(z);
      const gRef = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(reference(a), w)))(z);
      assert.ok(relErr(g, gRef) < 1e-4, `grad rel err ${relErr(g, gRef)}`);
      tf.dispose([z, w, h, hRef, g, gRef]);
    }
  });

  test(`${backend}: fused entropy of uniform logits is log K, and the gradient is zero there`, async () => {
    await tf.setBackend(backend);
    const z = tf.fill([3, 8], 2.5);
    const h = softmaxEntropyFused(z);
    for (const v of h.dataSync()) assert.ok(Math.abs(v - Math.log(8)) < 1e-6, `H = ${v}`);
    const g = tf.grad((a: tf.Tensor) => tf.sum(softmaxEntropyFused(a)))(z);
    assert.ok(tf.max(tf.abs(g)).dataSync()[0]! < 1e-7);
    tf.dispose([z, h, g]);
  });
}
