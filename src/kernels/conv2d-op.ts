/**
 * An ungrouped NHWC convolution with explicit padding whose gradients are lazy forward
 * convolutions.
 *
 * tfjs computes every gradient a `tf.customGrad` returns, so a weight gradient was computed
 * (and thrown away) even when only the input gradient was needed, as in Tent. A registered
 * kernel with a registered gradient gets one closure per input, and tfjs calls only those on
 * the path to the differentiated variables. The kernel itself is the backend's own Conv2D.
 *
 *   dx, stride 1: the upstream gradient convolved with the flipped, transposed kernel.
 *   dx, stride s: sub-pixel form: the s*s output phases of the transposed convolution are one
 *       convolution of the (undilated) upstream gradient with a small kernel holding each phase's
 *       taps in its own channel block, then a depth-to-space shuffle. No zero-inserted tensors.
 *   dW: the input correlated with the upstream gradient, batch axis as the channel axis.
 */
import * as tf from '@tensorflow/tfjs';

export const PADDED_CONV = 'WebttaPaddedConv2D';

type Pair = readonly [number, number];

export interface ConvAttrs {
  strides: Pair;
  dilations: Pair;
  /** top, bottom, left, right */
  pads: readonly [number, number, number, number];
}

function explicitPad(p: ConvAttrs['pads']): [[0, 0], [number, number], [number, number], [0, 0]] {
  return [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
}

for (const backendName of ['cpu', 'wasm', 'webgl', 'webgpu']) {
  tf.registerKernel({
    kernelName: PADDED_CONV,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const conv = tf.getKernel('Conv2D', backendName);
      if (!conv) throw new Error(`${PADDED_CONV}: backend ${backendName} has no Conv2D kernel`);
      const a = attrs as unknown as ConvAttrs;
      const convAttrs = { strides: a.strides, pad: explicitPad(a.pads), dataFormat: 'NHWC', dilations: a.dilations };
      return conv.kernelFunc({ inputs, backend, attrs: convAttrs as unknown as tf.NamedAttrMap });
    },
  });
}

tf.registerGradient({
  kernelName: PADDED_CONV,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as ConvAttrs;
    const g = dy as tf.Tensor4D;
    return { x: () => inputGrad(g, w, x.shape, a), filter: () => filterGrad(x, g, w.shape, a) };
  },
});

/** Convolution with per-side zero padding; stride > 1 together with dilation > 1 is not supported (tfjs). */
export function paddedConv(x: tf.Tensor4D, w: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D {
  const both = (attrs.strides[0] > 1 || attrs.strides[1] > 1) && (attrs.dilations[0] > 1 || attrs.dilations[1] > 1);
  if (both) throw new Error(`${PADDED_CONV}: strides [${attrs.strides}] with dilations [${attrs.dilations}] are not supported`);
  if (x.shape[3] !== w.shape[2]) throw new Error(`${PADDED_CONV}: input has ${x.shape[3]} channels, weight [${w.shape}] expects ${w.shape[2]}`);
  const named = { ...attrs } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(PADDED_CONV, { x, filter: w }, named) as tf.Tensor4D;
}

/** Convolution with signed padding: negative pads crop the result instead. */
function convSigned(x: tf.Tensor4D, w: tf.Tensor4D, pads: readonly number[], dilations: Pair): tf.Tensor4D {
  const pos = pads.map((p) => Math.max(0, p)) as [number, number, number, number];
  const y = tf.conv2d(x, w, 1, explicitPad(pos), 'NHWC', [dilations[0], dilations[1]]);
  const [t, b, l, r] = pads.map((p) => Math.max(0, -p)) as [number, number, number, number];
  if (!(t || b || l || r)) return y;
  return tf.slice(y, [0, t, l, 0], [-1, y.shape[1] - t - b, y.shape[2] - l - r, -1]);
}

/** Per axis: for each output phase r, the (tap j, offset m) pairs with dy[q - m] * w[j] -> dx[s*q + r]. */
function phaseTaps(k: number, s: number, d: number, padBefore: number) {
  const phases: { j: number; m: number }[][] = [];
  let mMin = Infinity;
  let mMax = -Infinity;
  for (let r = 0; r < s; r++) {
    const taps: { j: number; m: number }[] = [];
    for (let j = 0; j < k; j++) {
      const off = j * d - padBefore - r;
      if (((off % s) + s) % s !== 0) continue;
      const m = off / s;
      taps.push({ j, m });
      mMin = Math.min(mMin, m);
      mMax = Math.max(mMax, m);
    }
    phases.push(taps);
  }
  return { phases, mMin, mMax };
}

function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], a: ConvAttrs): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const [n, h, wd] = xShape as [number, number, number, number];
  const [, ho, wo] = dy.shape;
  const [sh, sw] = a.strides;
  const [t, , l] = a.pads;
  const wt = tf.transpose(w, [0, 1, 3, 2]); // [kh, kw, Co, Ci]
  if (sh === 1 && sw === 1) {
    const [dh, dw] = a.dilations;
    const pads = [(kh - 1) * dh - t, h - ho + t, (kw - 1) * dw - l, wd - wo + l];
    return convSigned(dy, tf.reverse(wt, [0, 1]), pads, a.dilations);
  }
  if (sh !== sw) {
    throw new Error(`${PADDED_CONV}: input gradient needs equal strides for depth-to-space, got [${a.strides}]`);
  }
  const s = sh;
  const ph = phaseTaps(kh, s, 1, t);
  const pw = phaseTaps(kw, s, 1, l);
  const mh = ph.mMax - ph.mMin + 1;
  const mw = pw.mMax - pw.mMin + 1;
  // Kernel [mh, mw, Co, s*s*Ci]: block (rh*s + rw) holds phase (rh, rw)'s taps; index kh*kw is a zero tap.
  const zero = kh * kw;
  const index = new Int32Array(mh * mw * s * s).fill(zero);
  for (let rh = 0; rh < s; rh++)
    for (let rw = 0; rw < s; rw++)
      for (const th of ph.phases[rh]!)
        for (const tw of pw.phases[rw]!) {
          const uh = ph.mMax - th.m;
          const uw = pw.mMax - tw.m;
          index[(uh * mw + uw) * s * s + rh * s + rw] = th.j * kw + tw.j;
        }
  const taps = tf.concat([wt.reshape([kh * kw, co, ci]), tf.zeros([1, co, ci])], 0);
  const kernel = tf
    .gather(taps, tf.tensor1d(index, 'int32'))
    .reshape([mh * mw, s * s, co, ci])
    .transpose([0, 2, 1, 3])
    .reshape([mh, mw, co, s * s * ci]) as tf.Tensor4D;
  const qh = Math.ceil(h / s);
  const qw = Math.ceil(wd / s);
  const phases = convSigned(dy, kernel, [ph.mMax, qh - ho - ph.mMin, pw.mMax, qw - wo - pw.mMin], [1, 1]);
  // Depth-to-space as one rank-4 transpose ([N*qh, qw, s, s*Ci] -> [N*qh, s, qw, s*Ci]):
  // tfjs-wasm's DepthToSpace kernel is several times slower.
  const dx = phases.reshape([n * qh, qw, s, s * ci]).transpose([0, 2, 1, 3]).reshape([n, qh * s, qw * s, ci]) as tf.Tensor4D;
  return qh * s === h && qw * s === wd ? dx : tf.slice(dx, [0, 0, 0, 0], [n, h, wd, ci]);
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: readonly number[], a: ConvAttrs): tf.Tensor4D {
  const [kh, kw, ci, co] = wShape as [number, number, number, number];
  // Stride and dilation swap roles: the taps of dy sit s apart, output positions d apart.
  const xt = x.transpose([3, 1, 2, 0]) as tf.Tensor4D; // [Ci, H, W, N]
  const dyt = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Co]
  const r = tf.conv2d(xt, dyt, [a.dilations[0], a.dilations[1]], explicitPad(a.pads), 'NHWC', [a.strides[0], a.strides[1]]);
  return tf.slice(r, [0, 0, 0, 0], [ci, kh, kw, co]).transpose([1, 2, 0, 3]);
}
