import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, Series, WindowAccuracy } from './stats.ts';

test('summarize: entropy, confidence, histogram and accuracy by hand', () => {
  const probs = Float32Array.from([0.5, 0.5, 0, /**/ 0.1, 0.2, 0.7, /**/ 1, 0, 0]);
  const s = summarize(probs, 3, [0, 2, 1]);
  const h0 = Math.log(2);
  const h1 = -(0.1 * Math.log(0.1) + 0.2 * Math.log(0.2) + 0.7 * Math.log(0.7));
  assert.ok(Math.abs(s.meanEntropy - (h0 + h1 + 0) / 3) < 1e-6);
  assert.ok(Math.abs(s.meanConfidence - (0.5 + 0.7 + 1) / 3) < 1e-6);
  assert.deepEqual(s.classCounts, [2, 0, 1]); // ties go to the first class
  assert.equal(s.correct, 2);
  assert.equal(s.labelled, 3);
  assert.equal(s.count, 3);
});

test('summarize ignores labels outside the class range (void pixels)', () => {
  const s = summarize(Float32Array.from([0.9, 0.1, 0.2, 0.8]), 2, [11, 1]);
  assert.equal(s.labelled, 1);
  assert.equal(s.correct, 1);
  assert.equal(summarize(Float32Array.from([0.9, 0.1]), 2).correct, undefined);
});

test('summarize rejects mismatched shapes', () => {
  assert.throws(() => summarize(new Float32Array(5), 2), /not a multiple of 2 classes/);
  assert.throws(() => summarize(new Float32Array(4), 2, [0]), /1 labels for 2 predictions/);
});

test('Series keeps the newest values', () => {
  const s = new Series(3);
  [1, 2, 3, 4].forEach((v) => s.push(v));
  assert.deepEqual(s.data, [2, 3, 4]);
});

test('WindowAccuracy drops whole old batches beyond the window', () => {
  const w = new WindowAccuracy(4);
  assert.ok(Number.isNaN(w.value));
  assert.equal(w.add(2, 2), 1);
  assert.equal(w.add(0, 2), 0.5);
  // 6 labelled > 4: the first batch (2 of 2) falls out, leaving 0/2 + 1/2.
  assert.equal(w.add(1, 2), 0.25);
});
