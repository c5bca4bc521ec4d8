import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { makeBasicMethod } from './basic-methods.ts';
import { createTinyModel, randomImages } from '../methods/testing/tiny-model.ts';

await tf.setBackend('cpu');
const ctx = { seed: 0, dataset: 'cifar10' as const };

test('tent: first step = Adam step of lr 1e-3 on the entropy gradient; entropy falls; reset restores', async () => {
  const model = createTinyModel({ numClasses: 4, seed: 2 });
  const x = randomImages(8, 8, 4);
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine');
  const before = vars.map((v) => Array.from(v.dataSync()));
  const g = tf.variableGrads(() => tf.mean(tf.neg(tf.sum(tf.mul(tf.softmax(model.forward(x).logits), tf.logSoftmax(model.forward(x).logits)), -1))) as tf.Scalar, vars);
  const grads = vars.map((v) => Array.from(g.grads[v.name]!.dataSync()));
  const method = makeBasicMethod('tent', model, ctx);
  const first = await method.step(x);
  // Adam's first update is lr * g / (|g| + eps) = lr * sign(g) (for |g| >> eps).
  vars.forEach((v, i) => {
    Array.from(v.dataSync()).forEach((val, j) => {
      const gj = grads[i]![j]!;
      const want = before[i]![j]! - (Math.abs(gj) > 1e-6 ? 1e-3 * Math.sign(gj) : 0);
      assert.ok(Math.abs(val - want) < 2e-5, `${v.name}[${j}]: ${val} vs ${want}`);
    });
  });
  assert.ok(Math.abs(first.stats.loss! - g.value.dataSync()[0]!) < 1e-5, 'loss reported = entropy before the update');
  first.probs.dispose();
  let last = first.stats.loss!;
  for (let i = 0; i < 30; i++) {
    const r = await method.step(x);
    last = r.stats.loss!;
    r.probs.dispose();
  }
  assert.ok(last < first.stats.loss! - 0.01, `entropy ${first.stats.loss} -> ${last}`);
  method.reset();
  vars.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), before[i]));
  method.dispose();
  tf.dispose([x, g.value, ...Object.values(g.grads)]);
  model.dispose();
});

test('source uses running statistics, bn batch statistics; unknown names are refused', async () => {
  const model = createTinyModel({ seed: 3 });
  const x = randomImages(4, 8, 5);
  const src = makeBasicMethod('source', model, ctx);
  const a = await src.step(x);
  assert.ok(model.norms.every((n) => n.mode.kind === 'running'));
  const bn = makeBasicMethod('bn', model, ctx);
  const b = await bn.step(x);
  assert.ok(model.norms.every((n) => n.mode.kind === 'batch'));
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a.probs, b.probs))).dataSync()[0]!);
  assert.ok(d > 1e-3, 'batch statistics change the prediction');
  assert.throws(() => makeBasicMethod('cotta', model, ctx), /unknown method 'cotta' \(available: source, bn, tent\)/);
  tf.dispose([a.probs, b.probs, x]);
  model.dispose();
});
