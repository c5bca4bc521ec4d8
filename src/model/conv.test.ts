// Fast conv gradients (forward convolutions only) vs tfjs's own conv gradients on cpu.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { conv2dFast, convTranspose2d, dilateSpatial } from './conv.ts';

before(async () => {
  await tf.setBackend('cpu');
});

function randn(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => rng.uniform(-1, 1)), shape);
}

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0]! / tf.norm(b).dataSync()[0]!);
}

/**
 * Reference built from tfjs ops with tfjs gradients. tfjs has no gradient for dilated convs,
 * so dilation is done by zero-inserting the kernel (pad/reshape/slice, all differentiable);
 * stride then applies directly.
 */
function referenceConv(x: tf.Tensor4D, wIn: tf.Tensor4D, s: [number, number], d: [number, number], pads: number[], groups: number): tf.Tensor4D {
  const xp = tf.pad(x, [[0, 0], [pads[0]!, pads[1]!], [pads[2]!, pads[3]!], [0, 0]]);
  const w = dilateSpatial(wIn.transpose([2, 0, 1, 3]) as tf.Tensor4D, d).transpose([1, 2, 0, 3]) as tf.Tensor4D;
  const stride = s;
  const cin = x.shape[3];
  let y: tf.Tensor4D;
  if (groups === 1) y = tf.conv2d(xp, w, stride, 'valid');
  else if (groups === cin) y = tf.depthwiseConv2d(xp, w.reshape([w.shape[0], w.shape[1], cin, w.shape[3] / cin]) as tf.Tensor4D, stride, 'valid');
  else {
    const ci = cin / groups;
    const co = w.shape[3] / groups;
    const parts = Array.from({ length: groups }, (_, k) =>
      tf.conv2d(tf.slice(xp, [0, 0, 0, k * ci], [-1, -1, -1, ci]), tf.slice(w, [0, 0, 0, k * co], [-1, -1, -1, co]), stride, 'valid'),
    );
    y = tf.concat(parts, 3);
  }
  return y;
}

const configs = [
  { name: 'plain 3x3', n: 2, h: 7, w: 6, ci: 3, co: 4, k: [3, 3], s: [1, 1], d: [1, 1], pads: [1, 1, 1, 1], groups: 1 },
  { name: 'stride 2, asymmetric pads', n: 2, h: 9, w: 8, ci: 3, co: 5, k: [3, 3], s: [2, 2], d: [1, 1], pads: [1, 0, 0, 1], groups: 1 },
  { name: 'stride 2 even input 1x1', n: 3, h: 8, w: 8, ci: 4, co: 6, k: [1, 1], s: [2, 2], d: [1, 1], pads: [0, 0, 0, 0], groups: 1 },
  { name: 'dilation 2', n: 2, h: 9, w: 10, ci: 2, co: 3, k: [3, 3], s: [1, 1], d: [2, 2], pads: [2, 2, 2, 2], groups: 1 },
  { name: 'stride 2 and dilation 2', n: 2, h: 11, w: 10, ci: 2, co: 3, k: [3, 2], s: [2, 2], d: [2, 2], pads: [1, 2, 0, 1], groups: 1 },
  { name: 'stride (2,1) rectangular kernel', n: 1, h: 8, w: 7, ci: 3, co: 2, k: [2, 3], s: [2, 1], d: [1, 1], pads: [0, 1, 1, 1], groups: 1 },
  { name: 'groups 2', n: 2, h: 6, w: 6, ci: 4, co: 6, k: [3, 3], s: [1, 1], d: [1, 1], pads: [1, 1, 1, 1], groups: 2 },
  { name: 'depthwise stride 2', n: 2, h: 9, w: 9, ci: 5, co: 5, k: [3, 3], s: [2, 2], d: [1, 1], pads: [1, 1, 1, 1], groups: 5 },
  { name: 'depthwise dilation 2', n: 2, h: 9, w: 8, ci: 3, co: 3, k: [3, 3], s: [1, 1], d: [2, 2], pads: [2, 2, 2, 2], groups: 3 },
  { name: 'depthwise multiplier 2', n: 2, h: 7, w: 7, ci: 3, co: 6, k: [3, 3], s: [1, 1], d: [1, 1], pads: [1, 1, 1, 1], groups: 3 },
] as const;

for (const c of configs) {
  test(`conv2dFast gradients equal tfjs's: ${c.name}`, () => {
    const rng = new Rng(c.h * 100 + c.co);
    const x = randn(rng, [c.n, c.h, c.w, c.ci]) as tf.Tensor4D;
    const w = randn(rng, [c.k[0], c.k[1], c.ci / c.groups, c.co]) as tf.Tensor4D;
    const geom = { strides: [...c.s] as [number, number], dilations: [...c.d] as [number, number], pads: [...c.pads] as [number, number, number, number], groups: c.groups };
    const yRef = referenceConv(x, w, geom.strides, geom.dilations, [...c.pads], c.groups);
    const r = randn(rng, yRef.shape);
    const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r));
    const ours = tf.grads(loss((a, b) => conv2dFast(a, b, geom)))([x, w]);
    const theirs = tf.grads(loss((a, b) => referenceConv(a, b, geom.strides, geom.dilations, [...c.pads], c.groups)))([x, w]);
    const y = conv2dFast(x, w, geom);
    assert.deepEqual(y.shape, yRef.shape);
    assert.ok(relErr(y, yRef) < 1e-5, `forward ${relErr(y, yRef)}`);
    assert.ok(relErr(ours[0]!, theirs[0]!) < 1e-4, `dx rel err ${relErr(ours[0]!, theirs[0]!)}`);
    assert.ok(relErr(ours[1]!, theirs[1]!) < 1e-4, `dW rel err ${relErr(ours[1]!, theirs[1]!)}`);
    tf.dispose([x, w, yRef, r, y, ...ours, ...theirs]);
  });
}

test('convTranspose2d equals tf.conv2dTranspose (value and gradients), stride 2 with output padding', () => {
  const rng = new Rng(5);
  const [n, h, w, ci, co, k] = [2, 4, 5, 3, 4, 3];
  const x = randn(rng, [n, h, w, ci]) as tf.Tensor4D;
  const wOnnx = randn(rng, [ci, co, k, k]) as tf.Tensor4D; // ONNX [Cin, Cout, kh, kw]
  // PyTorch/ONNX: out = (in-1)*s - 2p + k + output_padding = 3*2-2+3+1 = 8 rows, 10 cols.
  const geom = { strides: [2, 2] as [number, number], dilations: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], groups: 1, outputPadding: [1, 1] as [number, number] };
  const outShape: [number, number, number, number] = [n, (h - 1) * 2 - 2 + k + 1, (w - 1) * 2 - 2 + k + 1, co];
  // tfjs filter for conv2dTranspose is [kh, kw, outC, inC]. The full ('valid') transposed conv
  // has (in-1)*s+k rows; PyTorch's output is rows p .. p+out of it.
  const full: [number, number, number, number] = [n, (h - 1) * 2 + k, (w - 1) * 2 + k, co];
  const ref = (a: tf.Tensor, b: tf.Tensor) =>
    tf.slice(tf.conv2dTranspose(a as tf.Tensor4D, (b as tf.Tensor4D).transpose([2, 3, 1, 0]) as tf.Tensor4D, full, 2, 'valid'), [0, 1, 1, 0], outShape);
  const ours = (a: tf.Tensor, b: tf.Tensor) => convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, geom);
  const yo = ours(x, wOnnx);
  const yr = ref(x, wOnnx);
  assert.deepEqual(yo.shape, outShape);
  assert.ok(relErr(yo, yr) < 1e-5, `forward ${relErr(yo, yr)}`);
  const r = randn(rng, outShape);
  const go = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ours(a, b), r)))([x, wOnnx]);
  const gr = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ref(a, b), r)))([x, wOnnx]);
  assert.ok(relErr(go[0]!, gr[0]!) < 1e-4);
  assert.ok(relErr(go[1]!, gr[1]!) < 1e-4);
  tf.dispose([x, wOnnx, yo, yr, r, ...go, ...gr]);
});

test('gradient steps through conv2dFast leak no tensors', () => {
  const rng = new Rng(9);
  const x = randn(rng, [2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.variable(randn(rng, [3, 3, 3, 4]));
  const geom = { strides: [2, 2] as const, dilations: [1, 1] as const, pads: [1, 1, 1, 1] as const, groups: 1 };
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(conv2dFast(x, w as unknown as tf.Tensor4D, geom))) as tf.Scalar, [w]);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w]);
});
