import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { emaUpdate, stochasticRestore } from './teacher.ts';
import { Rng } from '../../util/rng.ts';
import { useCpuBackend, values } from '../testing/backend.ts';

before(useCpuBackend);

test('EMA update is exactly m * t + (1 - m) * s in float32', () => {
  const t0 = [0.1, -3.7, 12.5, 1e-3];
  const s0 = [0.7, 2.2, -1.5, 5];
  const teacher = tf.variable(tf.tensor1d(t0));
  const student = tf.variable(tf.tensor1d(s0));
  emaUpdate([teacher], [student], 0.999);
  const f = Math.fround;
  const expected = t0.map((t, i) => f(f(f(t) * f(0.999)) + f(f(s0[i]!) * f(1 - 0.999))));
  assert.deepEqual(values(teacher), expected);
  assert.throws(() => emaUpdate([teacher], [], 0.9), /1 teacher vs 0 student/);
  teacher.dispose();
  student.dispose();
});

test('stochastic restore resets each element with probability p, to the source value, seeded', async () => {
  const n = 200_000;
  const p = 0.01;
  const source = tf.zeros([n]);
  const v = tf.variable(tf.ones([n]));
  const count = await stochasticRestore([v], [source], p, new Rng(3), true);
  const vals = values(v);
  const zeros = vals.filter((x) => x === 0).length;
  assert.equal(zeros, count);
  assert.equal(vals.filter((x) => x !== 0 && x !== 1).length, 0);
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) < 4 * sd, `restored ${count}, expected ${n * p} +- ${4 * sd}`);
  const again = tf.variable(tf.ones([n]));
  await stochasticRestore([again], [source], p, new Rng(3));
  assert.deepEqual(values(again), vals, 'same seed, same mask');
  const before0 = tf.memory().numTensors;
  await stochasticRestore([again], [source], p, new Rng(4));
  assert.equal(tf.memory().numTensors, before0);
  [source, v, again].forEach((t) => t.dispose());
});
