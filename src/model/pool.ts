/**
 * Max pooling with its own gradient. tfjs's MaxPoolGrad disagrees between backends here
 * (wasm vs cpu differ on 8x8/k2/s2 and 9x9/k3/s1 windows), so the backward pass is built
 * from strided slices and the forward-conv tools: each output's gradient goes to the first
 * maximum of its window (PyTorch's argmax rule), summed over overlapping windows.
 */
import * as tf from '@tensorflow/tfjs';
import { dilateSpatial } from './conv.ts';

function maxPoolBackward(x: tf.Tensor4D, y: tf.Tensor4D, dy: tf.Tensor4D, k: readonly [number, number], s: readonly [number, number]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [, ho, wo] = y.shape;
  let taken = tf.zerosLike(y);
  let dx = tf.zerosLike(x);
  for (let i = 0; i < k[0]; i++) {
    for (let j = 0; j < k[1]; j++) {
      const end = [n, i + (ho - 1) * s[0] + 1, j + (wo - 1) * s[1] + 1, c];
      const tap = tf.stridedSlice(x, [0, i, j, 0], end, [1, s[0], s[1], 1]) as tf.Tensor4D;
      const hit = tf.mul(tf.cast(tf.equal(tap, y), 'float32'), tf.sub(1, taken));
      taken = tf.add(taken, hit);
      const spread = dilateSpatial(tf.mul(hit, dy) as tf.Tensor4D, s);
      const [, sh, sw] = spread.shape;
      dx = tf.add(dx, tf.pad(spread, [[0, 0], [i, h - i - sh], [j, w - j - sw], [0, 0]]));
    }
  }
  return dx;
}

/** 'valid' max pooling on NHWC (pad beforehand). */
export function maxPoolValid(x: tf.Tensor4D, k: readonly [number, number], s: readonly [number, number]): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = tf.maxPool(xi, [k[0], k[1]], [s[0], s[1]], 'valid');
    save([xi, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor4D, tf.Tensor4D];
        return tf.tidy(() => maxPoolBackward(xs, ys, dy, k, s));
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

/** How many input (or padded-input) cells each output window averages over. */
function countMap(inLen: number, k: number, s: number, before: number, after: number, includePad: boolean, outLen: number): number[] {
  const lo = includePad ? -before : 0;
  const hi = includePad ? inLen + after : inLen;
  return Array.from({ length: outLen }, (_, o) => {
    const start = o * s - before;
    return Math.min(start + k, hi) - Math.max(start, lo);
  });
}

/**
 * Average pooling with explicit pads [top, bottom, left, right] plus `extra` end padding
 * (ceil mode). Pads count in the divisor only when includePad; the extra never does.
 */
export function avgPoolPadded(
  x: tf.Tensor4D,
  k: readonly [number, number],
  s: readonly [number, number],
  pads: readonly [number, number, number, number],
  extra: readonly [number, number],
  includePad: boolean,
): tf.Tensor4D {
  const [t, b, l, r] = pads;
  const xp = t || b || l || r || extra[0] || extra[1] ? tf.pad(x, [[0, 0], [t, b + extra[0]], [l, r + extra[1]], [0, 0]]) : x;
  const y = tf.avgPool(xp, [k[0], k[1]], [s[0], s[1]], 'valid');
  const rows = countMap(x.shape[1], k[0], s[0], t, b, includePad, y.shape[1]);
  const cols = countMap(x.shape[2], k[1], s[1], l, r, includePad, y.shape[2]);
  if (rows.every((c) => c === k[0]) && cols.every((c) => c === k[1])) return y;
  // avgPool divided by k*k; rescale to the true count per window.
  const scale = rows.flatMap((cr) => cols.map((cc) => (k[0] * k[1]) / (cr * cc)));
  return tf.mul(y, tf.tensor4d(scale, [1, rows.length, cols.length, 1]));
}
