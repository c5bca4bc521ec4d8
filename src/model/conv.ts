/**
 * Convolutions whose gradients are ordinary forward convolutions.
 *
 * tfjs-wasm has no Conv2DBackpropFilter kernel and a naive Conv2DBackpropInput (2.0 s of a
 * 3.2 s Tent step of a CIFAR ResNet-20 at batch 64), so both gradients are rewritten:
 *   dx: the stride-dilated upstream gradient, padded by (k-1)*d, convolved (dilation d) with
 *       the spatially flipped kernel whose in/out channels are swapped;
 *   dW: the input correlated with the upstream gradient, batch axis as the channel axis
 *       (conv with stride d and dilation s, i.e. the roles of stride and dilation swap).
 * Weights are HWIO ([kh, kw, in/groups, out]) as tfjs expects; all tensors NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { paddedConv, type ConvAttrs } from '../kernels/conv2d-op.ts';

export interface ConvGeometry {
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** top, bottom, left, right */
  pads: readonly [number, number, number, number];
  groups: number;
}

type Pair = [number, number];

/** Every s-th row/column starting at 0 (no gradient needed: used only where gradients are custom). */
function subsample(x: tf.Tensor4D, s: Pair): tf.Tensor4D {
  if (s[0] === 1 && s[1] === 1) return x;
  const [n, h, w, c] = x.shape;
  return tf.stridedSlice(x, [0, 0, 0, 0], [n, h, w, c], [1, s[0], s[1], 1]) as tf.Tensor4D;
}

/** tfjs refuses stride > 1 together with dilation > 1: run stride 1 and subsample then. */
function convValid(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, d: Pair, depthwise: boolean): tf.Tensor4D {
  const both = (s[0] > 1 || s[1] > 1) && (d[0] > 1 || d[1] > 1);
  const stride: Pair = both ? [1, 1] : s;
  const y = depthwise ? tf.depthwiseConv2d(x, w, stride, 'valid', 'NHWC', d) : tf.conv2d(x, w, stride, 'valid', 'NHWC', d);
  return both ? subsample(y, s) : y;
}

/** Insert s-1 zeros between rows/columns: [N,H,W,C] -> [N,(H-1)s+1,(W-1)s+1,C] (rank-4 ops only). */
export function dilateSpatial(x: tf.Tensor4D, s: readonly [number, number]): tf.Tensor4D {
  let [n, h, w, c] = x.shape;
  let y = x;
  if (s[0] > 1) {
    y = tf.pad(y.reshape([n, h, 1, w * c]), [[0, 0], [0, 0], [0, s[0] - 1], [0, 0]]).reshape([n, h * s[0], w, c]);
    y = tf.slice(y, [0, 0, 0, 0], [n, (h - 1) * s[0] + 1, w, c]);
    h = (h - 1) * s[0] + 1;
  }
  if (s[1] > 1) {
    y = tf.pad(y.reshape([n * h, w, 1, c]), [[0, 0], [0, 0], [0, s[1] - 1], [0, 0]]).reshape([n, h, w * s[1], c]);
    y = tf.slice(y, [0, 0, 0, 0], [n, h, (w - 1) * s[1] + 1, c]);
  }
  return y;
}

function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inShape: readonly number[], s: Pair, d: Pair, depthwise: boolean): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const [, hp, wp] = inShape as [number, number, number, number];
  const dyd = dilateSpatial(dy, s);
  const padH = (kh - 1) * d[0];
  const padW = (kw - 1) * d[1];
  const extraH = hp - (dyd.shape[1] + padH);
  const extraW = wp - (dyd.shape[2] + padW);
  const padded = tf.pad(dyd, [[0, 0], [padH, padH + extraH], [padW, padW + extraW], [0, 0]]);
  const flipped = tf.reverse(w, [0, 1]);
  if (!depthwise) return tf.conv2d(padded, tf.transpose(flipped, [0, 1, 3, 2]), 1, 'valid', 'NHWC', d);
  // Depthwise with multiplier m: output channel c*m+q reads input channel c; sum over q.
  const [, , c, m] = w.shape;
  const perOut = tf.depthwiseConv2d(padded, tf.reshape(flipped, [kh, kw, c * m, 1]) as tf.Tensor4D, 1, 'valid', 'NHWC', d);
  return m === 1 ? perOut : (perOut.reshape([...perOut.shape.slice(0, 3), c, m]).sum(4) as tf.Tensor4D);
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: readonly number[], s: Pair, d: Pair, depthwise: boolean): tf.Tensor4D {
  const [kh, kw, ci, co] = wShape as [number, number, number, number];
  const [n, hp, wp] = x.shape;
  const [, ho, wo] = dy.shape;
  // Stride and dilation swap roles: the taps of dy sit s apart, output positions d apart.
  if (!depthwise) {
    const xt = x.transpose([3, 1, 2, 0]) as tf.Tensor4D; // [Ci, Hp, Wp, N]
    const dyt = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Co]
    const r = convValid(xt, dyt, d, s, false); // [Ci, >=kh, >=kw, Co]
    return tf.slice(r, [0, 0, 0, 0], [ci, kh, kw, co]).transpose([1, 2, 0, 3]);
  }
  // Depthwise: one "image" whose channels are (n, c) pairs; sum over n afterwards.
  const m = co;
  const xt = x.transpose([1, 2, 0, 3]).reshape([1, hp, wp, n * ci]) as tf.Tensor4D;
  const dyt = dy.reshape([n, ho, wo, ci, m]).transpose([1, 2, 0, 3, 4]).reshape([ho, wo, n * ci, m]) as tf.Tensor4D;
  const r = convValid(xt, dyt, d, s, true); // [1, >=kh, >=kw, n*ci*m]
  const cut = tf.slice(r, [0, 0, 0, 0], [1, kh, kw, n * ci * m]);
  return cut.reshape([kh, kw, n, ci, m]).sum(2) as tf.Tensor4D;
}

function validConvFast(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, d: Pair, depthwise: boolean): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: convValid(x4, w4, s, d, depthwise),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [inputGrad(dy, ws, xs.shape, s, d, depthwise), filterGrad(xs, dy, ws.shape, s, d, depthwise)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * ONNX-style Conv on NHWC input with an HWIO weight [kh, kw, Cin/groups, Cout].
 * Ungrouped convolutions pad inside the convolution (no Pad/Slice pair per layer) and get
 * their two gradients lazily (see kernels/conv2d-op.ts); grouped ones pad with tf.pad.
 */
export function conv2dFast(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const s: Pair = [g.strides[0], g.strides[1]];
  const d: Pair = [g.dilations[0], g.dilations[1]];
  const cin = x.shape[3];
  const [kh, kw, cinPerGroup, cout] = w.shape;
  if (cinPerGroup * g.groups !== cin) {
    throw new Error(`conv: input has ${cin} channels but weight expects ${cinPerGroup} x ${g.groups} groups`);
  }
  const strided = s[0] > 1 || s[1] > 1;
  const dilated = d[0] > 1 || d[1] > 1;
  // Sub-pixel input gradients need equal strides (depth-to-space).
  if (g.groups === 1 && !(strided && dilated) && s[0] === s[1]) return paddedConv(x, w, { strides: s, dilations: d, pads: [...g.pads] as ConvAttrs['pads'] });
  const [t, b, l, r] = g.pads;
  const xp = t || b || l || r ? tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]) : x;
  if (g.groups === 1) return validConvFast(xp, w, s, d, false);
  if (g.groups === cin) {
    // Depthwise: ONNX output channel c*m+q reads input channel c; tfjs depthwise filter [kh,kw,C,m].
    return validConvFast(xp, w.reshape([kh, kw, cin, cout / cin]), s, d, true);
  }
  const outPerGroup = cout / g.groups;
  const parts: tf.Tensor4D[] = [];
  for (let k = 0; k < g.groups; k++) {
    const xg = tf.slice(xp, [0, 0, 0, k * cinPerGroup], [-1, -1, -1, cinPerGroup]);
    const wg = tf.slice(w, [0, 0, 0, k * outPerGroup], [-1, -1, -1, outPerGroup]);
    parts.push(validConvFast(xg, wg, s, d, false));
  }
  return tf.concat(parts, 3);
}

/**
 * ConvTranspose as a forward conv (so it reuses the fast gradients): dilate the input by the
 * stride, pad by (k-1)*d - pad (plus output_padding at the end), convolve with the flipped
 * kernel. `w` is ONNX layout [Cin, Cout/groups, kh, kw].
 */
export function convTranspose2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeometry & { outputPadding: readonly [number, number] },
): tf.Tensor4D {
  const [cin, , kh, kw] = w.shape;
  const groups = g.groups;
  const cinPerGroup = cin / groups;
  // -> HWIO per group: [kh, kw, Cin/groups, Cout/groups], flipped, groups stacked on the output axis.
  const perGroup: tf.Tensor4D[] = [];
  for (let k = 0; k < groups; k++) {
    const wg = tf.slice(w, [k * cinPerGroup, 0, 0, 0], [cinPerGroup, -1, -1, -1]);
    perGroup.push(tf.reverse(wg.transpose([2, 3, 0, 1]) as tf.Tensor4D, [0, 1]));
  }
  const hwio = groups === 1 ? perGroup[0]! : tf.concat(perGroup, 3);
  const xd = dilateSpatial(x, g.strides);
  const [t, b, l, r] = g.pads;
  const before = [(kh - 1) * g.dilations[0] - t, (kw - 1) * g.dilations[1] - l];
  const after = [(kh - 1) * g.dilations[0] - b + g.outputPadding[0], (kw - 1) * g.dilations[1] - r + g.outputPadding[1]];
  // Negative padding (pads larger than the kernel reach) crops instead.
  const padded = tf.pad(xd, [[0, 0], [Math.max(0, before[0]!), Math.max(0, after[0]!)], [Math.max(0, before[1]!), Math.max(0, after[1]!)], [0, 0]]);
  const cropT = Math.max(0, -before[0]!);
  const cropL = Math.max(0, -before[1]!);
  const cropped = tf.slice(padded, [0, cropT, cropL, 0], [
    -1,
    padded.shape[1] - cropT - Math.max(0, -after[0]!),
    padded.shape[2] - cropL - Math.max(0, -after[1]!),
    -1,
  ]);
  return conv2dFast(cropped, hwio, { strides: [1, 1], dilations: g.dilations, pads: [0, 0, 0, 0], groups });
}
