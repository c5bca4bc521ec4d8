/**
 * Values flowing through an ONNX graph during execution. Rank-4 activations are kept NHWC
 * (tfjs convolutions are NHWC) and marked so; everything else is in ONNX (NCHW) order.
 * Shape arithmetic stays on the host.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../host.ts';

export type Val =
  | { kind: 'tensor'; t: tf.Tensor; nhwc: boolean }
  | { kind: 'host'; h: HostTensor };

/** ONNX axis of a rank-4 NCHW tensor -> axis in the NHWC tensor that holds it. */
export const NCHW_TO_NHWC_AXIS = [0, 3, 1, 2] as const;

export function tensorVal(t: tf.Tensor, nhwc = false): Val {
  return { kind: 'tensor', t, nhwc: nhwc && t.rank === 4 };
}

export function hostVal(h: HostTensor): Val {
  return { kind: 'host', h };
}

/** The shape in ONNX (NCHW) order. */
export function onnxShape(v: Val): number[] {
  if (v.kind === 'host') return [...v.h.dims];
  const s = v.t.shape;
  return v.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

function fromHost(h: HostTensor): tf.Tensor {
  const dtype = h.dtype === 'float' ? 'float32' : h.dtype === 'bool' ? 'bool' : 'int32';
  return tf.tensor(Array.from(h.data), [...h.dims], dtype);
}

/** The tensor in ONNX layout. */
export function plain(v: Val): tf.Tensor {
  if (v.kind === 'host') return fromHost(v.h);
  return v.nhwc ? tf.transpose(v.t, [0, 3, 1, 2]) : v.t;
}

/** A rank-4 activation in NHWC. */
export function nhwc(v: Val, what: string): tf.Tensor4D {
  const t = v.kind === 'host' ? fromHost(v.h) : v.t;
  if (t.rank !== 4) throw new Error(`${what}: expected a 4-D (NCHW) input, got shape [${onnxShape(v).join(',')}]`);
  return (v.kind === 'tensor' && v.nhwc ? t : tf.transpose(t, [0, 2, 3, 1])) as tf.Tensor4D;
}

/**
 * Bring `other` into the layout of a NHWC activation for broadcasting: numpy broadcasting
 * aligns trailing axes, so pad to rank 4 first ([C,1,1] -> [1,C,1,1]) and then permute.
 */
export function toNhwcBroadcast(v: Val): tf.Tensor {
  if (v.kind === 'tensor' && v.nhwc) return v.t;
  const t = plain(v);
  if (t.rank > 4) throw new Error(`cannot broadcast a rank-${t.rank} tensor against a 4-D activation`);
  const shape = [...new Array<number>(4 - t.rank).fill(1), ...t.shape];
  return tf.transpose(t.reshape(shape), [0, 2, 3, 1]);
}
