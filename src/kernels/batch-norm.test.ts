// Fused training-mode BatchNorm vs the same maths from elementwise tfjs ops (tfjs gradients),
// on the cpu and wasm backends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { batchNormTrain, channelAffine } from './batch-norm.ts';

after(async () => {
  await tf.setBackend('cpu');
});

function reference(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, eps: number): tf.Tensor {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), scale), offset);
}

function rand(rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(lo, hi)), shape);
}

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / tf.norm(b).dataSync()[0]!);
}

for (const backend of ['cpu', 'wasm']) {
  for (const shape of [[4, 5, 6, 3], [7, 16]]) {
    test(`${backend}: fused BatchNorm forward and gradients equal the elementwise ones, x [${shape}]`, async () => {
      await tf.setBackend(backend);
      const rng = new Rng(shape.length * 31 + 7);
      const c = shape[shape.length - 1]!;
      // An offset mean checks the two-pass variance; upstream gradients weight each element.
      const x = tf.add(rand(rng, shape, -1, 1), 3);
      const scale = rand(rng, [c], 0.5, 1.5) as tf.Tensor1D;
      const offset = rand(rng, [c], -0.5, 0.5) as tf.Tensor1D;
      const r = rand(rng, shape, -1, 1);
      const eps = 1e-5;
      const loss = (f: (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(f(a, s, o), r));
      const fused = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => batchNormTrain(a, s as tf.Tensor1D, o as tf.Tensor1D, eps).y;
      const ref = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => reference(a, s, o, eps);
      const [y, yRef] = [fused(x, scale, offset), ref(x, scale, offset)];
      assert.ok(relErr(y, yRef) < 1e-6, `forward rel err ${relErr(y, yRef)}`);
      const ours = tf.grads(loss(fused))([x, scale, offset]);
      const theirs = tf.grads(loss(ref))([x, scale, offset]);
      ['dx', 'dscale', 'doffset'].forEach((name, i) => {
        const e = relErr(ours[i]!, theirs[i]!);
        assert.ok(e < 1e-5, `${name} rel err ${e}`);
      });
      // dx of a batch-normalised output sums to zero per channel (mean is subtracted).
      const colSum = tf.sum(ours[0]!.reshape([-1, c]), 0).abs().max().dataSync()[0]!;
      assert.ok(colSum < 1e-4, `per-channel sum of dx ${colSum}`);
      tf.dispose([x, scale, offset, r, y, yRef, ...ours, ...theirs]);
    });
  }

  test(`${backend}: channel affine (eval-mode BatchNorm) and its gradients equal x * scale + shift`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(17);
    const x = rand(rng, [2, 3, 4, 5], -2, 2);
    const a = rand(rng, [5], -1, 1) as tf.Tensor1D;
    const b = rand(rng, [5], -1, 1) as tf.Tensor1D;
    const r = rand(rng, [2, 3, 4, 5], -1, 1);
    assert.ok(relErr(channelAffine(x, a, b), tf.add(tf.mul(x, a), b)) < 1e-7);
    const ours = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(channelAffine(p, q as tf.Tensor1D, s as tf.Tensor1D), r)))([x, a, b]);
    const theirs = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.mul(p, q), s), r)))([x, a, b]);
    ours.forEach((g, i) => assert.ok(relErr(g, theirs[i]!) < 1e-6, `grad ${i}: ${relErr(g, theirs[i]!)}`));
    tf.dispose([x, a, b, r, ...ours, ...theirs]);
  });

  test(`${backend}: fused BatchNorm statistics and a hand-computed case`, async () => {
    await tf.setBackend(backend);
    // Channel 0: 1, 3 -> mean 2, var 1; channel 1: 2, 2 -> mean 2, var 0.
    const x = tf.tensor2d([[1, 2], [3, 2]]);
    const { y, stats } = batchNormTrain(x, tf.tensor1d([2, 1]), tf.tensor1d([0.5, -1]), 0);
    assert.deepEqual(Array.from(stats.dataSync()), [2, 2, 1, Infinity]);
    assert.deepEqual(Array.from(y.dataSync()).filter((_, i) => i % 2 === 0), [-1.5, 2.5]);
    tf.dispose([x, y, stats]);
  });

  test(`${backend}: fused BatchNorm steps leak no tensors`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(3);
    const x = rand(rng, [2, 3, 3, 4], -1, 1);
    const scale = tf.variable(rand(rng, [4], 0.5, 1.5));
    const offset = tf.variable(rand(rng, [4], -1, 1));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(batchNormTrain(x, scale as tf.Tensor1D, offset as tf.Tensor1D, 1e-5).y)) as tf.Scalar, [scale, offset]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, scale, offset]);
  });
}

test('fused BatchNorm rejects a scale of the wrong length', async () => {
  await tf.setBackend('cpu');
  assert.throws(() => batchNormTrain(tf.zeros([2, 3]), tf.ones([4]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, 1e-5), /3 channels, scale \[4\]/);
});
