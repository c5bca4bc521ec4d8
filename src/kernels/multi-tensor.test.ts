// Fused multi-tensor updates (EMA teacher, SAM perturbation, stochastic restore) on cpu and wasm.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../util/rng.ts';
import { emaUpdateFused, hash32, hashUniform, samPerturbFused, stochasticRestoreFused } from './multi-tensor.ts';

after(async () => {
  await tf.setBackend('cpu');
});

function rand(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

test('hash32 is the PCG output hash (values from an independent Python implementation)', () => {
  assert.equal(hash32(0), 129708002);
  assert.equal(hash32(1), 2831084092);
  assert.equal(hash32(123456789), 4272394698);
});

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: fused EMA update and SAM perturbation equal the stock formulas`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(21);
    const shapes = [[3, 3, 2, 4], [4], [5, 2]];
    const t = shapes.map((s) => tf.variable(rand(rng, s)));
    const s = shapes.map((sh) => rand(rng, sh));
    const expected = t.map((v, i) => tf.add(tf.mul(v, 0.999), tf.mul(s[i]!, 1 - 0.999)));
    emaUpdateFused(t, s, 0.999);
    t.forEach((v, i) => assert.ok(maxAbsDiff(v, expected[i]!) < 1e-7));

    const norm = Math.sqrt(s.reduce((acc, g) => acc + tf.sum(tf.square(g)).dataSync()[0]!, 0));
    const samExpected = t.map((v, i) => tf.add(v, tf.mul(s[i]!, 0.05 / (norm + 1e-12))));
    samPerturbFused(t, s, 0.05);
    t.forEach((v, i) => assert.ok(maxAbsDiff(v, samExpected[i]!) < 1e-6));
    tf.dispose([...t, ...s, ...expected, ...samExpected]);
  });

  test(`${backend}: fused stochastic restore follows the hash, restores about p, leaks nothing`, async () => {
    await tf.setBackend(backend);
    const n = 20000;
    const w = tf.variable(tf.fill([n], 1));
    const src = tf.fill([n], 2);
    stochasticRestoreFused([w], [src], 0, 5);
    assert.equal(tf.sum(w).dataSync()[0], n);
    const before = tf.memory().numTensors;
    stochasticRestoreFused([w], [src], 0.3, 5);
    assert.equal(tf.memory().numTensors, before);
    const got = w.dataSync();
    let restored = 0;
    for (let j = 0; j < n; j++) {
      const expect = hashUniform(5, j) < Math.fround(0.3) ? 2 : 1;
      assert.equal(got[j], expect, `element ${j}`);
      if (got[j] === 2) restored++;
    }
    // Binomial(20000, 0.3): sd 65; 5 sd either side.
    assert.ok(Math.abs(restored - 0.3 * n) < 325, `restored ${restored} of ${n}`);
    stochasticRestoreFused([w], [src], 1, 6);
    assert.equal(tf.sum(w).dataSync()[0], 2 * n);
    tf.dispose([w, src]);
  });
}

test('fused updates reject mismatched lists', () => {
  const a = tf.variable(tf.zeros([2]));
  assert.throws(() => emaUpdateFused([a], [tf.zeros([3])], 0.9), /tensor 0 has shape \[2\], its partner \[3\]/);
  assert.throws(() => stochasticRestoreFused([a], [tf.zeros([2])], 1.5, 0), /probability 1.5/);
  a.dispose();
});
