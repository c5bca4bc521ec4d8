/**
 * Resize / Upsample (nearest and linear) as two matrix products with host-built
 * interpolation matrices: exact ONNX coordinate semantics for every
 * coordinate_transformation_mode / nearest_mode, differentiable through matMul alone.
 */
import * as tf from '@tensorflow/tfjs';
import type { OnnxNode } from './decode.ts';
import { attrFloat, attrInt, attrInts, attrString, hostValues, requireInput, where, type OpDef } from './op.ts';
import { nhwc, tensorVal } from './values.ts';

export interface ResizeAxis {
  inLen: number;
  outLen: number;
  /** The scale ONNX uses in the coordinate formulas (given, or outLen / inLen from sizes). */
  scale: number;
}

export interface ResizeMode {
  mode: 'nearest' | 'linear';
  coord: string;
  nearest: string;
}

function sourceCoord(o: number, a: ResizeAxis, coord: string, where: string): number {
  switch (coord) {
    case 'half_pixel':
      return (o + 0.5) / a.scale - 0.5;
    case 'pytorch_half_pixel':
      return a.outLen > 1 ? (o + 0.5) / a.scale - 0.5 : 0;
    case 'align_corners':
      return a.outLen === 1 ? 0 : (o * (a.inLen - 1)) / (a.outLen - 1);
    case 'asymmetric':
      return o / a.scale;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / a.scale;
    default:
      throw new Error(`${where}: coordinate_transformation_mode '${coord}' is not supported`);
  }
}

function nearestIndex(x: number, mode: string, where: string): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      throw new Error(`${where}: nearest_mode '${mode}' is not supported`);
  }
}

/** Row-major [outLen, inLen] interpolation matrix. */
export function interpolationMatrix(a: ResizeAxis, m: ResizeMode, where: string): Float32Array {
  const w = new Float32Array(a.outLen * a.inLen);
  const clamp = (i: number) => Math.min(Math.max(i, 0), a.inLen - 1);
  for (let o = 0; o < a.outLen; o++) {
    const x = sourceCoord(o, a, m.coord, where);
    if (m.mode === 'nearest') {
      w[o * a.inLen + clamp(nearestIndex(x, m.nearest, where))] = 1;
      continue;
    }
    const xc = Math.min(Math.max(x, 0), a.inLen - 1);
    const lo = Math.floor(xc);
    const hi = clamp(lo + 1);
    const frac = xc - lo;
    w[o * a.inLen + lo] += 1 - frac;
    w[o * a.inLen + hi] += frac;
  }
  return w;
}

/** Resize an NHWC tensor along H then W (an axis with the same length and scale 1 is an identity). */
export function resizeNhwc(x: tf.Tensor4D, h: ResizeAxis, w: ResizeAxis, m: ResizeMode, where: string): tf.Tensor4D {
  const [n, , wi, c] = x.shape;
  let y: tf.Tensor4D = x;
  if (h.inLen !== h.outLen || h.scale !== 1) {
    const ah = tf.tensor2d(interpolationMatrix(h, m, where), [h.outLen, h.inLen]);
    const rows = tf.matMul(ah, y.transpose([1, 0, 2, 3]).reshape([h.inLen, n * wi * c]));
    y = rows.reshape([h.outLen, n, wi, c]).transpose([1, 0, 2, 3]);
  }
  if (w.inLen !== w.outLen || w.scale !== 1) {
    const aw = tf.tensor2d(interpolationMatrix(w, m, where), [w.outLen, w.inLen]);
    const cols = tf.matMul(aw, y.transpose([2, 0, 1, 3]).reshape([w.inLen, n * h.outLen * c]));
    y = cols.reshape([w.outLen, n, h.outLen, c]).transpose([1, 2, 0, 3]);
  }
  return y;
}

function resizeOp(kind: 'Resize' | 'Upsample'): OpDef {
  return {
    hostInputs: [1, 2, 3],
    run(node: OnnxNode, inputs, ctx) {
      const w0 = where(node);
      const x = nhwc(requireInput(node, inputs, 0, 'X'), w0);
      const [n, hi, wi, c] = x.shape;
      const modeAttr = attrString(node, 'mode', 'nearest');
      const mode = modeAttr === 'bilinear' ? 'linear' : modeAttr;
      if (mode !== 'nearest' && mode !== 'linear') throw new Error(`${w0}: mode '${modeAttr}' is not supported`);
      // Resize-10 and Upsample use asymmetric coordinates; Resize-11+ defaults to half_pixel.
      const newStyle = kind === 'Resize' && ctx.opset >= 11;
      const coord = newStyle ? attrString(node, 'coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
      const nearest = newStyle ? attrString(node, 'nearest_mode', 'round_prefer_floor') : 'floor';
      if (newStyle && attrFloat(node, 'exclude_outside', 0) !== 0) throw new Error(`${w0}: exclude_outside is not supported`);
      // Resize-18 options that would change the result: refuse them rather than ignore them.
      const antialias = attrInt(node, 'antialias', 0);
      if (antialias !== 0) throw new Error(`${w0}: attribute antialias=${antialias} is not supported (only 0)`);
      const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
      if (policy !== 'stretch') throw new Error(`${w0}: attribute keep_aspect_ratio_policy '${policy}' is not supported (only 'stretch')`);
      let scales: number[] | undefined;
      let sizes: number[] | undefined;
      if (kind === 'Upsample' && ctx.opset < 9) scales = attrInts(node, 'scales');
      else if (!newStyle) scales = hostValues(node, inputs[1], 'scales');
      else {
        scales = hostValues(node, inputs[2], 'scales');
        sizes = hostValues(node, inputs[3], 'sizes');
        if (scales && scales.length === 0) scales = undefined;
      }
      if (node.attrs.has('axes')) throw new Error(`${w0}: attribute axes is not supported`);
      let axes: ResizeAxis[];
      if (sizes && sizes.length === 4) {
        if (sizes[0] !== n || sizes[1] !== c) throw new Error(`${w0}: resizing the batch or channel axis is not supported (sizes [${sizes}])`);
        axes = [
          { inLen: hi, outLen: sizes[2]!, scale: sizes[2]! / hi },
          { inLen: wi, outLen: sizes[3]!, scale: sizes[3]! / wi },
        ];
      } else if (scales && scales.length === 4) {
        if (scales[0] !== 1 || scales[1] !== 1) throw new Error(`${w0}: resizing the batch or channel axis is not supported (scales [${scales}])`);
        axes = [
          { inLen: hi, outLen: Math.floor(hi * scales[2]!), scale: scales[2]! },
          { inLen: wi, outLen: Math.floor(wi * scales[3]!), scale: scales[3]! },
        ];
      } else {
        throw new Error(`${w0}: needs 4 scales or 4 sizes`);
      }
      return [tensorVal(resizeNhwc(x, axes[0]!, axes[1]!, { mode, coord, nearest }, w0), true)];
    },
  };
}

export const resizeOps: Record<string, OpDef> = {
  Resize: resizeOp('Resize'),
  Upsample: resizeOp('Upsample'),
};
