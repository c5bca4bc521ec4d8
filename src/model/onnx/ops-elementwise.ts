/** Layout-preserving ops: activations, broadcasting arithmetic, Softmax, reductions, Gemm/MatMul. */
import * as tf from '@tensorflow/tfjs';
import { host, hostBinary, type BinaryOp, type HostTensor } from '../host.ts';
import type { OnnxNode } from './decode.ts';
import { attrFloat, attrInt, attrInts, hostValues, requireInput, where, type OpDef, type TensorFn } from './op.ts';
import { NCHW_TO_NHWC_AXIS, onnxShape, plain, tensorVal, toNhwcBroadcast, type Val } from './values.ts';

function asTensorKeepLayout(v: Val): { t: tf.Tensor; nhwc: boolean } {
  return v.kind === 'tensor' ? { t: v.t, nhwc: v.nhwc } : { t: plain(v), nhwc: false };
}

function unary(fn: (node: OnnxNode) => TensorFn): OpDef {
  return {
    run(node, inputs) {
      const { t, nhwc } = asTensorKeepLayout(requireInput(node, inputs, 0, 'X'));
      return [tensorVal(fn(node)(t), nhwc)];
    },
  };
}

const hardSigmoid = (alpha: number, beta: number): TensorFn => (x) => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);

function clipOp(): OpDef {
  return {
    hostInputs: [1, 2],
    run(node, inputs, ctx) {
      const { t, nhwc } = asTensorKeepLayout(requireInput(node, inputs, 0, 'input'));
      let lo = -Infinity;
      let hi = Infinity;
      if (ctx.opset < 11) {
        lo = attrFloat(node, 'min', -3.4028234663852886e38);
        hi = attrFloat(node, 'max', 3.4028234663852886e38);
      } else {
        const min = hostValues(node, inputs[1], 'min');
        const max = hostValues(node, inputs[2], 'max');
        if (min) lo = min[0]!;
        if (max) hi = max[0]!;
      }
      // Clip to +-inf is a no-op; tfjs wants finite bounds.
      return [tensorVal(tf.clipByValue(t, Math.max(lo, -3.4e38), Math.min(hi, 3.4e38)), nhwc)];
    },
  };
}

function binary(op: BinaryOp, fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpDef {
  return {
    host: (node, [a, b]) => [hostBinary(op, requireInput(node, [a], 0, 'A'), requireInput(node, [b], 0, 'B'))],
    run(node, inputs) {
      const a = requireInput(node, inputs, 0, 'A');
      const b = requireInput(node, inputs, 1, 'B');
      const aN = a.kind === 'tensor' && a.nhwc;
      const bN = b.kind === 'tensor' && b.nhwc;
      if (aN || bN) {
        // Broadcasting against a 4-D activation keeps its layout if the result stays 4-D.
        const other = aN ? onnxShape(b) : onnxShape(a);
        if (other.length <= 4) return [tensorVal(fn(toNhwcBroadcast(a), toNhwcBroadcast(b)), true)];
      }
      return [tensorVal(fn(plain(a), plain(b)))];
    },
  };
}

/** Softmax over one axis of any position (tf.softmax only does the last one). */
function softmaxAxis(x: tf.Tensor, axis: number): tf.Tensor {
  if (axis === x.rank - 1) return tf.softmax(x);
  const shifted = tf.sub(x, tf.max(x, axis, true));
  const e = tf.exp(shifted);
  return tf.div(e, tf.sum(e, axis, true));
}

function normAxis(node: OnnxNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where(node)}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

function softmaxOp(log: boolean): OpDef {
  return {
    run(node, inputs, ctx) {
      const x = requireInput(node, inputs, 0, 'input');
      const rank = onnxShape(x).length;
      const finish = (t: tf.Tensor) => (log ? tf.log(t) : t);
      if (ctx.opset >= 13) {
        const axis = normAxis(node, attrInt(node, 'axis', -1), rank);
        if (x.kind === 'tensor' && x.nhwc) return [tensorVal(finish(softmaxAxis(x.t, NCHW_TO_NHWC_AXIS[axis]!)), true)];
        return [tensorVal(finish(softmaxAxis(plain(x), axis)))];
      }
      // Before opset 13: the input is coerced to 2-D at `axis` and normalised over the second part.
      const axis = normAxis(node, attrInt(node, 'axis', 1), rank);
      const shape = onnxShape(x);
      const rows = shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const t = plain(x);
      return [tensorVal(finish(tf.softmax(t.reshape([rows, -1]))).reshape(shape))];
    },
  };
}

function reduceOp(fn: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): OpDef {
  return {
    hostInputs: [1],
    run(node, inputs, ctx) {
      const x = requireInput(node, inputs, 0, 'data');
      const rank = onnxShape(x).length;
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const fromInput = ctx.opset >= 18 || (node.opType === 'ReduceSum' && ctx.opset >= 13);
      let axes = fromInput ? hostValues(node, inputs[1], 'axes') : attrInts(node, 'axes');
      if (!axes || axes.length === 0) {
        if (attrInt(node, 'noop_with_empty_axes', 0) === 1) return [x];
        axes = Array.from({ length: rank }, (_, i) => i);
      }
      const norm = axes.map((a) => normAxis(node, a, rank));
      if (x.kind === 'tensor' && x.nhwc && keep) {
        return [tensorVal(fn(x.t, norm.map((a) => NCHW_TO_NHWC_AXIS[a]!), true), true)];
      }
      return [tensorVal(fn(plain(x), norm, keep))];
    },
  };
}

function gemmOp(): OpDef {
  return {
    run(node, inputs) {
      const a = plain(requireInput(node, inputs, 0, 'A'));
      const b = plain(requireInput(node, inputs, 1, 'B'));
      if (a.rank !== 2 || b.rank !== 2) throw new Error(`${where(node)}: A and B must be 2-D, got [${a.shape}] and [${b.shape}]`);
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      let y = tf.matMul(a, b, attrInt(node, 'transA', 0) === 1, attrInt(node, 'transB', 0) === 1);
      if (alpha !== 1) y = tf.mul(y, alpha);
      const c = inputs[2];
      if (c) y = tf.add(y, beta === 1 ? plain(c) : tf.mul(plain(c), beta));
      return [tensorVal(y)];
    },
  };
}

function matMulOp(): OpDef {
  return {
    run(node, inputs) {
      const a = plain(requireInput(node, inputs, 0, 'A'));
      const b = plain(requireInput(node, inputs, 1, 'B'));
      if (a.rank < 2 || b.rank < 2) throw new Error(`${where(node)}: 1-D operands are not supported, got [${a.shape}] x [${b.shape}]`);
      if (b.rank === 2 && a.rank > 2) {
        // Fold batch axes into rows: one 2-D matmul, which every backend has.
        const lead = a.shape.slice(0, -1);
        return [tensorVal(tf.matMul(a.reshape([-1, a.shape[a.rank - 1]!]), b).reshape([...lead, b.shape[1]!]))];
      }
      return [tensorVal(tf.matMul(a, b))];
    },
  };
}

const DTYPE_OF: Record<number, HostTensor['dtype']> = { 1: 'float', 10: 'float', 11: 'float', 2: 'int', 3: 'int', 5: 'int', 6: 'int', 7: 'int', 9: 'bool' };

function castOp(): OpDef {
  const target = (node: OnnxNode) => {
    const to = attrInt(node, 'to', 0);
    const dtype = DTYPE_OF[to];
    if (!dtype) throw new Error(`${where(node)}: cast to data type ${to} is not supported`);
    return dtype;
  };
  return {
    host(node, [x]) {
      const h = requireInput(node, [x], 0, 'input');
      const dtype = target(node);
      const data = Array.from(h.data, (v) => (dtype === 'float' ? v : dtype === 'bool' ? (v !== 0 ? 1 : 0) : Math.trunc(v)));
      return [host(h.dims, data, dtype)];
    },
    run(node, inputs) {
      const { t, nhwc } = asTensorKeepLayout(requireInput(node, inputs, 0, 'input'));
      const dtype = target(node);
      return [tensorVal(tf.cast(t, dtype === 'float' ? 'float32' : dtype === 'bool' ? 'bool' : 'int32'), nhwc)];
    },
  };
}

function whereOp(): OpDef {
  return {
    host(node, [c, x, y]) {
      const cond = requireInput(node, [c], 0, 'condition');
      const a = requireInput(node, [x], 0, 'X');
      const b = requireInput(node, [y], 0, 'Y');
      // Broadcast through arithmetic: cond*a + (1-cond)*b, exact for the integer shapes used here.
      const picked = hostBinary('Add', hostBinary('Mul', cond, a), hostBinary('Mul', hostBinary('Sub', host([], [1], 'int'), cond), b));
      return [host(picked.dims, picked.data, a.dtype)];
    },
    run(node) {
      throw new Error(`${where(node)}: only supported on constant / shape inputs`);
    },
  };
}

function identityOp(): OpDef {
  return {
    host: (node, [x]) => [requireInput(node, [x], 0, 'input')],
    run: (node, inputs) => [requireInput(node, inputs, 0, 'input')],
  };
}

export const elementwiseOps: Record<string, OpDef> = {
  Relu: unary(() => tf.relu),
  LeakyRelu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 0.01);
    return (x) => tf.leakyRelu(x, alpha);
  }),
  Sigmoid: unary(() => tf.sigmoid),
  Tanh: unary(() => tf.tanh),
  HardSigmoid: unary((n) => hardSigmoid(attrFloat(n, 'alpha', 0.2), attrFloat(n, 'beta', 0.5))),
  HardSwish: unary(() => (x) => tf.mul(x, hardSigmoid(1 / 6, 0.5)(x))),
  Neg: unary(() => tf.neg),
  Exp: unary(() => tf.exp),
  Sqrt: unary(() => tf.sqrt),
  Clip: clipOp(),
  Add: binary('Add', tf.add),
  Sub: binary('Sub', tf.sub),
  Mul: binary('Mul', tf.mul),
  Div: binary('Div', tf.div),
  Equal: {
    host: (node, [a, b]) => [hostBinary('Equal', requireInput(node, [a], 0, 'A'), requireInput(node, [b], 0, 'B'))],
    run(node) {
      throw new Error(`${where(node)}: only supported on constant / shape inputs`);
    },
  },
  Where: whereOp(),
  Cast: castOp(),
  Identity: identityOp(),
  Dropout: identityOp(),
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  ReduceMean: reduceOp((x, axes, keep) => tf.mean(x, axes, keep)),
  ReduceSum: reduceOp((x, axes, keep) => tf.sum(x, axes, keep)),
  ReduceMax: reduceOp((x, axes, keep) => tf.max(x, axes, keep)),
  Gemm: gemmOp(),
  MatMul: matMulOp(),
};
