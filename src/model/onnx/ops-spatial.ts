/** Spatial ops on NHWC activations: Conv, ConvTranspose, BatchNormalization, pools, Pad. */
import * as tf from '@tensorflow/tfjs';
import { conv2dFast, convTranspose2d } from '../conv.ts';
import { avgPoolPadded, maxPoolValid } from '../pool.ts';
import type { OnnxNode } from './decode.ts';
import { attrInt, attrInts, attrString, hostValues, requireInput, where, type OpDef } from './op.ts';
import { nhwc, onnxShape, plain, tensorVal, type Val } from './values.ts';

type Pads4 = [number, number, number, number];

function pair(node: OnnxNode, name: string, dflt: number): [number, number] {
  const v = attrInts(node, name, [dflt, dflt]);
  if (v.length !== 2) throw new Error(`${where(node)}: attribute ${name} must have 2 values (2-D only), got [${v.join(',')}]`);
  return [v[0]!, v[1]!];
}

/** ONNX pads [top, left, bottom, right] or auto_pad -> [top, bottom, left, right]. */
function spatialPads(node: OnnxNode, inHW: readonly number[], k: readonly number[], s: readonly number[], d: readonly number[]): Pads4 {
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const p = attrInts(node, 'pads', [0, 0, 0, 0]);
    if (p.length !== 4) throw new Error(`${where(node)}: pads must have 4 values, got [${p.join(',')}]`);
    return [p[0]!, p[2]!, p[1]!, p[3]!];
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw new Error(`${where(node)}: unknown auto_pad '${autoPad}'`);
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    const o = Math.ceil(inHW[i]! / s[i]!);
    const total = Math.max(0, (o - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!);
    const small = Math.floor(total / 2);
    const big = total - small;
    out.push(...(autoPad === 'SAME_UPPER' ? [small, big] : [big, small]));
  }
  return out as Pads4;
}

function weightOf(node: OnnxNode, inputs: (Val | undefined)[]): tf.Tensor4D {
  const w = plain(requireInput(node, inputs, 1, 'W'));
  if (w.rank !== 4) throw new Error(`${where(node)}: only 2-D convolutions are supported, weight shape [${w.shape}]`);
  return w as tf.Tensor4D;
}

function addBias(y: tf.Tensor4D, b: Val | undefined): tf.Tensor4D {
  return b ? tf.add(y, plain(b)) : y;
}

function convOp(): OpDef {
  return {
    run(node, inputs) {
      const x = nhwc(requireInput(node, inputs, 0, 'X'), where(node));
      const w = weightOf(node, inputs); // [O, I/g, kh, kw]
      const k = [w.shape[2], w.shape[3]];
      const s = pair(node, 'strides', 1);
      const d = pair(node, 'dilations', 1);
      const pads = spatialPads(node, [x.shape[1], x.shape[2]], k, s, d);
      const groups = attrInt(node, 'group', 1);
      const hwio = w.transpose([2, 3, 1, 0]) as tf.Tensor4D;
      return [tensorVal(addBias(conv2dFast(x, hwio, { strides: s, dilations: d, pads, groups }), inputs[2]), true)];
    },
  };
}

function convTransposeOp(): OpDef {
  return {
    run(node, inputs) {
      const x = nhwc(requireInput(node, inputs, 0, 'X'), where(node));
      const w = weightOf(node, inputs); // [I, O/g, kh, kw]
      if (node.attrs.has('output_shape')) throw new Error(`${where(node)}: attribute output_shape is not supported (export explicit pads)`);
      const autoPad = attrString(node, 'auto_pad', 'NOTSET');
      if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new Error(`${where(node)}: auto_pad '${autoPad}' is not supported`);
      const s = pair(node, 'strides', 1);
      const d = pair(node, 'dilations', 1);
      const pads = autoPad === 'VALID' ? ([0, 0, 0, 0] as Pads4) : spatialPads(node, [0, 0], [1, 1], [1, 1], [1, 1]);
      const outputPadding = pair(node, 'output_padding', 0);
      const groups = attrInt(node, 'group', 1);
      const y = convTranspose2d(x, w, { strides: s, dilations: d, pads, groups, outputPadding });
      return [tensorVal(addBias(y, inputs[2]), true)];
    },
  };
}

function batchNormOp(): OpDef {
  return {
    run(node, inputs, ctx) {
      const xv = requireInput(node, inputs, 0, 'X');
      const rank = onnxShape(xv).length;
      const layer = ctx.norm(node.name);
      if (rank === 4) {
        const x = nhwc(xv, where(node));
        ctx.onNorm?.(node.name, [x.shape[1], x.shape[2]]);
        return [tensorVal(layer.apply(x), true)];
      }
      if (rank !== 2) throw new Error(`${where(node)}: input must be 2-D or 4-D, got rank ${rank}`);
      return [tensorVal(layer.apply(plain(xv)))];
    },
  };
}

/** Extra end padding so ceil_mode windows that start inside the (padded) input are complete. */
function ceilExtra(inLen: number, k: number, s: number, padBefore: number, padAfter: number): number {
  const span = inLen + padBefore + padAfter - k;
  const outCeil = Math.ceil(span / s) + 1;
  // PyTorch/ONNX drop a last window that would start in the end padding.
  const out = (outCeil - 1) * s >= inLen + padBefore ? outCeil - 1 : outCeil;
  return Math.max(0, (out - 1) * s + k - (inLen + padBefore + padAfter));
}

interface PoolGeom {
  k: [number, number];
  s: [number, number];
  pads: Pads4;
  extra: [number, number];
}

function poolGeom(node: OnnxNode, x: tf.Tensor4D): PoolGeom {
  const k = pair(node, 'kernel_shape', 1);
  if (!node.attrs.has('kernel_shape')) throw new Error(`${where(node)}: kernel_shape is required`);
  const s = pair(node, 'strides', 1);
  const d = pair(node, 'dilations', 1);
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`${where(node)}: dilated pooling is not supported`);
  const pads = spatialPads(node, [x.shape[1], x.shape[2]], k, s, [1, 1]);
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const extra: [number, number] = ceil
    ? [ceilExtra(x.shape[1], k[0], s[0], pads[0], pads[1]), ceilExtra(x.shape[2], k[1], s[1], pads[2], pads[3])]
    : [0, 0];
  return { k, s, pads, extra };
}

function maxPoolOp(): OpDef {
  return {
    run(node, inputs) {
      if (node.outputs.length > 1 && node.outputs[1]) throw new Error(`${where(node)}: the Indices output is not supported`);
      const x = nhwc(requireInput(node, inputs, 0, 'X'), where(node));
      const { k, s, pads, extra } = poolGeom(node, x);
      const [t, b, l, r] = pads;
      // Padding never wins a max: pad with the lowest float.
      const xp = t || b || l || r || extra[0] || extra[1] ? tf.pad(x, [[0, 0], [t, b + extra[0]], [l, r + extra[1]], [0, 0]], -3.4e38) : x;
      return [tensorVal(maxPoolValid(xp, k, s), true)];
    },
  };
}

function averagePoolOp(): OpDef {
  return {
    run(node, inputs) {
      const x = nhwc(requireInput(node, inputs, 0, 'X'), where(node));
      const { k, s, pads, extra } = poolGeom(node, x);
      const [t, b, l, r] = pads;
      const includePad = attrInt(node, 'count_include_pad', 0) === 1;
      return [tensorVal(avgPoolPadded(x, k, s, [t, b, l, r], extra, includePad), true)];
    },
  };
}

function globalPoolOp(fn: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): OpDef {
  return {
    run(node, inputs) {
      const x = nhwc(requireInput(node, inputs, 0, 'X'), where(node));
      return [tensorVal(fn(x, [1, 2], true), true)];
    },
  };
}

function padOp(): OpDef {
  return {
    hostInputs: [1, 2, 3],
    run(node, inputs, ctx) {
      const x = requireInput(node, inputs, 0, 'data');
      const rank = onnxShape(x).length;
      const mode = attrString(node, 'mode', 'constant');
      let pads = ctx.opset >= 11 ? hostValues(node, inputs[1], 'pads') : attrInts(node, 'pads');
      const value = ctx.opset >= 11 ? (hostValues(node, inputs[2], 'constant_value')?.[0] ?? 0) : (node.attrs.get('value') as number | undefined) ?? 0;
      if (!pads) throw new Error(`${where(node)}: pads missing`);
      const axes = hostValues(node, inputs[3], 'axes')?.map((a) => (a < 0 ? a + rank : a)) ?? Array.from({ length: rank }, (_, i) => i);
      if (pads.length !== 2 * axes.length) throw new Error(`${where(node)}: ${pads.length} pads for ${axes.length} axes`);
      const perAxis: [number, number][] = Array.from({ length: rank }, () => [0, 0]);
      axes.forEach((a, i) => (perAxis[a] = [pads![i]!, pads![i + axes.length]!]));
      if (perAxis.some(([b, e]) => b < 0 || e < 0)) throw new Error(`${where(node)}: negative pads are not supported`);
      const isNhwc = x.kind === 'tensor' && x.nhwc;
      const t = isNhwc ? x.t : plain(x);
      const padding = isNhwc ? [0, 2, 3, 1].map((a) => perAxis[a]!) : perAxis;
      let y: tf.Tensor;
      if (mode === 'constant') y = tf.pad(t, padding, value);
      else if (mode === 'reflect') y = tf.mirrorPad(t, padding, 'reflect');
      else throw new Error(`${where(node)}: pad mode '${mode}' is not supported`);
      return [tensorVal(y, isNhwc)];
    },
  };
}

export const spatialOps: Record<string, OpDef> = {
  Conv: convOp(),
  ConvTranspose: convTransposeOp(),
  BatchNormalization: batchNormOp(),
  MaxPool: maxPoolOp(),
  AveragePool: averagePoolOp(),
  GlobalAveragePool: globalPoolOp((x, a, k) => tf.mean(x, a, k)),
  GlobalMaxPool: globalPoolOp((x, a, k) => tf.max(x, a, k)),
  Pad: padOp(),
};
