// BatchNormLayer's statistics modes against the formulas in types.ts (NormMode), computed
// here in float64 from the same numbers.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { maxAbsDiff } from './testing/reference.ts';
import { BatchNormLayer } from './norm.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const C = 3;
const EPS = 1e-3;
const rng = new Rng(5);
const draw = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => rng.uniform(lo, hi));
// Activations whose batch statistics are far from the stored ones, so the mix matters.
const shape = [4, 3, 5, C] as const;
const x = draw(4 * 3 * 5 * C, -1, 3);
const weight = draw(C, 0.5, 1.5);
const bias = draw(C, -0.5, 0.5);
const runningMean = draw(C, -0.3, 0.3);
const runningVar = draw(C, 0.5, 2);

function layer(): BatchNormLayer {
  const v = (a: number[]) => tf.variable(tf.tensor1d(a), false);
  return new BatchNormLayer('bn', C, EPS, v(weight), v(bias), v(runningMean), v(runningVar));
}

// Batch statistics per channel (channels last); PyTorch normalises with the biased variance.
const channel = (c: number) => x.filter((_, i) => i % C === c);
const batchMean = Array.from({ length: C }, (_, c) => channel(c).reduce((s, v) => s + v, 0) / (x.length / C));
const batchVar = Array.from({ length: C }, (_, c) => channel(c).reduce((s, v) => s + (v - batchMean[c]!) ** 2, 0) / (x.length / C));

/** y = (x - m) / sqrt(v + eps) * w + b with m, v = (1 - alpha) * stored + alpha * batch statistics. */
function expected(alpha: number): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const c = i % C;
    const m = (1 - alpha) * runningMean[c]! + alpha * batchMean[c]!;
    const s = (1 - alpha) * runningVar[c]! + alpha * batchVar[c]!;
    return ((v - m) / Math.sqrt(s + EPS)) * weight[c]! + bias[c]!;
  });
}

function apply(l: BatchNormLayer): Float32Array {
  const input = tf.tensor4d(x, [...shape]);
  const y = l.apply(input);
  const out = y.dataSync() as Float32Array;
  tf.dispose([input, y]);
  return out;
}

test('mixed mode normalises with (1 - alpha) * stored + alpha * batch statistics, stored ones untouched', () => {
  const l = layer();
  for (const alpha of [0.1, 0.5, 0.9]) {
    l.mode = { kind: 'mixed', alpha };
    assert.ok(maxAbsDiff(apply(l), expected(alpha)) < 1e-5, `alpha ${alpha}`);
  }
  assert.ok(maxAbsDiff(l.runningMean.dataSync(), runningMean) < 1e-7);
  assert.ok(maxAbsDiff(l.runningVar.dataSync(), runningVar) < 1e-7);
  // The three alphas really give different outputs.
  assert.ok(maxAbsDiff(expected(0.1), expected(0.9)) > 0.1);
});

test('mixed mode at alpha 0 is running mode and at alpha 1 is batch mode', () => {
  const l = layer();
  l.mode = { kind: 'running' };
  const running = apply(l);
  l.mode = { kind: 'batch' };
  const batch = apply(l);
  assert.ok(maxAbsDiff(running, expected(0)) < 1e-5);
  assert.ok(maxAbsDiff(batch, expected(1)) < 1e-5);
  l.mode = { kind: 'mixed', alpha: 0 };
  assert.ok(maxAbsDiff(apply(l), running) < 1e-5);
  l.mode = { kind: 'mixed', alpha: 1 };
  assert.ok(maxAbsDiff(apply(l), batch) < 1e-5);
});

test('ema mode stores the mixed statistics and normalises with them', () => {
  const l = layer();
  l.mode = { kind: 'ema', momentum: 0.3 };
  assert.ok(maxAbsDiff(apply(l), expected(0.3)) < 1e-5);
  assert.ok(maxAbsDiff(l.runningMean.dataSync(), runningMean.map((m, c) => 0.7 * m + 0.3 * batchMean[c]!)) < 1e-6);
  assert.ok(maxAbsDiff(l.runningVar.dataSync(), runningVar.map((v, c) => 0.7 * v + 0.3 * batchVar[c]!)) < 1e-6);
});
