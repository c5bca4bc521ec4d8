import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { feedbackLoss, FeedbackTrainer, FeedbackBuffer } from './feedback.ts';
import { createTinyModel, randomImages } from '../methods/testing/tiny-model.ts';

await tf.setBackend('cpu');

function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

test('feedbackLoss: CE for labels and -log(1 - p) for "not" marks, averaged', () => {
  const rows = [
    [1, 2, 0],
    [0.5, -1, 3],
  ];
  const logits = tf.tensor2d(rows);
  const p0 = softmax(rows[0]!);
  const p1 = softmax(rows[1]!);
  const expected = (-Math.log(p0[1]!) - Math.log(1 - p1[2]!)) / 2;
  const loss = feedbackLoss(logits, [
    { kind: 'label', cls: 1 },
    { kind: 'not', cls: 2 },
  ]);
  assert.ok(Math.abs(loss.dataSync()[0]! - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`);
  // Stable when the rejected class has p ~ 1 (naive log(1 - p) would be -inf).
  const sure = feedbackLoss(tf.tensor2d([[40, 0, 0]]), [{ kind: 'not', cls: 0 }]);
  const v = sure.dataSync()[0]!;
  assert.ok(Math.abs(v - (40 - Math.log(2))) < 1e-3, `complementary loss at p~1: ${v}`);
  tf.dispose([logits, loss, sure]);
});

test('feedbackLoss gradient matches finite differences', () => {
  const base = [0.3, -0.7, 1.1, 0.2];
  const marks = [{ kind: 'not' as const, cls: 2 }];
  const f = (row: number[]) => tf.tidy(() => feedbackLoss(tf.tensor2d([row]), marks).dataSync()[0]!);
  const g = tf.grad((x: tf.Tensor) => feedbackLoss(x as tf.Tensor2D, marks))(tf.tensor2d([base]));
  const analytic = Array.from(g.dataSync());
  const h = 1e-2;
  base.forEach((_, k) => {
    const up = base.slice();
    const down = base.slice();
    up[k]! += h;
    down[k]! -= h;
    const numeric = (f(up) - f(down)) / (2 * h);
    assert.ok(Math.abs(numeric - analytic[k]!) < 2e-3, `d/dz${k}: numeric ${numeric} analytic ${analytic[k]}`);
  });
  g.dispose();
});

test('feedbackLoss rejects classes outside the model output', () => {
  const logits = tf.zeros([1, 3]) as tf.Tensor2D;
  assert.throws(() => feedbackLoss(logits, [{ kind: 'label', cls: 3 }]), /class 3 is outside 0\.\.2/);
  logits.dispose();
});

test('buffer is a FIFO of fixed capacity and checks images', () => {
  const b = new FeedbackBuffer(2, 3);
  b.add({ image: new Float32Array([0, 0, 0]), mark: { kind: 'label', cls: 0 } });
  b.add({ image: new Float32Array([0, 0, 0]), mark: { kind: 'label', cls: 1 } });
  b.add({ image: new Float32Array([0, 0, 0]), mark: { kind: 'not', cls: 2 } });
  assert.deepEqual(
    b.snapshot().map((it) => it.mark.cls),
    [1, 2],
  );
  assert.throws(() => b.add({ image: new Float32Array(4), mark: { kind: 'label', cls: 0 } }), /4 values.*needs 3/);
  assert.throws(() => b.add({ image: new Float32Array([0, 2, 0]), mark: { kind: 'label', cls: 0 } }), /value 2 at index 1/);
});

test('trainer steps raise p(label), lower p(rejected class), keep tensors and running stats', async () => {
  const model = createTinyModel({ numClasses: 4, inputSize: 8, seed: 3 });
  model.setNormMode({ kind: 'ema', momentum: 0.1 });
  const trainer = new FeedbackTrainer(model, { optimizer: { kind: 'adam', lr: 0.05 } });
  const imgs = randomImages(3, 8, 11);
  const context = randomImages(4, 8, 12);
  const flat = imgs.dataSync() as Float32Array;
  const size = 8 * 8 * 3;
  const probsOf = () =>
    tf.tidy(() => {
      model.setNormMode({ kind: 'batch' });
      const p = tf.softmax(model.forward(tf.concat([context, imgs], 0)).logits).arraySync() as number[][];
      model.setNormMode({ kind: 'ema', momentum: 0.1 });
      return p.slice(4);
    });
  const before = probsOf();
  const label = before[0]!.indexOf(Math.min(...before[0]!)); // least likely class: room to grow
  const rejected = before[1]!.indexOf(Math.max(...before[1]!));
  trainer.buffer.add({ image: flat.slice(0, size), mark: { kind: 'label', cls: label } });
  trainer.buffer.add({ image: flat.slice(size, 2 * size), mark: { kind: 'not', cls: rejected } });
  const statsBefore = model.norms.map((n) => Array.from(n.runningMean.dataSync()));
  const first = await trainer.step(context);
  const tensors = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 20; i++) last = await trainer.step(context);
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leak across steps');
  assert.equal(first.labelled, 1);
  assert.equal(first.negatives, 1);
  assert.ok(last.loss < first.loss * 0.5, `feedback loss ${first.loss} -> ${last.loss}`);
  const after = probsOf();
  assert.ok(after[0]![label]! > before[0]![label]! + 0.2, `p(label) ${before[0]![label]} -> ${after[0]![label]}`);
  assert.ok(after[1]![rejected]! < before[1]![rejected]! - 0.2, `p(rejected) ${before[1]![rejected]} -> ${after[1]![rejected]}`);
  assert.deepEqual(
    model.norms.map((n) => Array.from(n.runningMean.dataSync())),
    statsBefore,
    'feedback forward must not move EMA statistics',
  );
  assert.ok(model.norms.every((n) => n.mode.kind === 'ema'), 'norm modes restored');
  trainer.reset();
  assert.equal(trainer.buffer.size, 0);
  assert.ok(Number.isNaN((await trainer.step(context)).loss), 'empty buffer: no step');
  trainer.dispose();
  tf.dispose([imgs, context]);
  model.dispose();
});

test('trainer refuses a segmenter', () => {
  const model = createTinyModel({ task: 'segmentation' });
  assert.throws(() => new FeedbackTrainer(model), /needs a classifier.*segmentation/);
  model.dispose();
});
