/**
 * Shape and data-movement ops. On host values (the Shape -> Gather -> Concat chains that
 * exporters emit) they run in plain JS; on activations they convert to ONNX (NCHW) order
 * first where the semantics depend on element order (Reshape, Flatten, Transpose...).
 */
import * as tf from '@tensorflow/tfjs';
import {
  host,
  hostConcat,
  hostGather,
  hostSlice,
  hostTranspose,
  resolveReshape,
  resolveSliceRange,
  sizeOf,
  type HostTensor,
} from '../host.ts';
import type { OnnxNode } from './decode.ts';
import { attrInt, attrInts, attrTensor, hostValues, requireInput, where, type OpDef } from './op.ts';
import { NCHW_TO_NHWC_AXIS, hostVal, nhwc, onnxShape, plain, tensorVal, type Val } from './values.ts';

function normAxis(node: OnnxNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where(node)}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

function constantOp(): OpDef {
  const value = (node: OnnxNode): HostTensor => {
    const t = attrTensor(node, 'value');
    if (t) return t;
    const v = node.attrs.get('value_float') ?? node.attrs.get('value_int');
    if (typeof v === 'number') return host([], [v], node.attrs.has('value_float') ? 'float' : 'int');
    const list = node.attrs.get('value_floats') ?? node.attrs.get('value_ints');
    if (Array.isArray(list)) return host([list.length], list as number[], node.attrs.has('value_floats') ? 'float' : 'int');
    throw new Error(`${where(node)}: no supported value attribute (value, value_float(s), value_int(s))`);
  };
  return { host: (node) => [value(node)], run: (node) => [hostVal(value(node))] };
}

function shapeOp(): OpDef {
  return {
    run(node, inputs) {
      const dims = onnxShape(requireInput(node, inputs, 0, 'data'));
      const rank = dims.length;
      const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
      const start = clampAxis(attrInt(node, 'start', 0));
      const end = clampAxis(attrInt(node, 'end', rank));
      const out = dims.slice(start, end);
      return [hostVal(host([out.length], out, 'int'))];
    },
  };
}

function constantOfShapeOp(): OpDef {
  const fill = (node: OnnxNode, shape: HostTensor | undefined): HostTensor => {
    const dims = Array.from(requireInput(node, [shape], 0, 'shape').data);
    const v = attrTensor(node, 'value');
    const value = v ? v.data[0]! : 0;
    return host(dims, new Array<number>(sizeOf(dims)).fill(value), v?.dtype ?? 'float');
  };
  return { hostInputs: [0], host: (node, [s]) => [fill(node, s)], run: (node, inputs) => [hostVal(fill(node, inputs[0]?.kind === 'host' ? inputs[0].h : undefined))] };
}

function gatherOp(): OpDef {
  return {
    hostInputs: [1],
    host(node, [data, idx]) {
      const d = requireInput(node, [data], 0, 'data');
      return [hostGather(d, requireInput(node, [idx], 0, 'indices'), normAxis(node, attrInt(node, 'axis', 0), d.dims.length))];
    },
    run(node, inputs) {
      const data = requireInput(node, inputs, 0, 'data');
      const idx = requireInput(node, inputs, 1, 'indices');
      if (idx.kind !== 'host') throw new Error(`${where(node)}: indices must be constant`);
      const x = plain(data);
      const axis = normAxis(node, attrInt(node, 'axis', 0), x.rank);
      const len = x.shape[axis]!;
      const flat = Array.from(idx.h.data, (i) => (i < 0 ? i + len : i));
      const g = tf.gather(x, tf.tensor1d(flat, 'int32'), axis);
      return [tensorVal(g.reshape([...x.shape.slice(0, axis), ...idx.h.dims, ...x.shape.slice(axis + 1)]))];
    },
  };
}

/** Unsqueeze/Squeeze: the axes come from an attribute before opset 13 and an input from 13. */
function axesOf(node: OnnxNode, inputs: (Val | undefined)[], opset: number): number[] | undefined {
  return opset >= 13 ? hostValues(node, inputs[1], 'axes') : attrInts(node, 'axes');
}

function unsqueezeDims(node: OnnxNode, dims: readonly number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const norm = axes.map((a) => normAxis(node, a, rank)).sort((a, b) => a - b);
  const out = [...dims];
  for (const a of norm) out.splice(a, 0, 1);
  return out;
}

function squeezeDims(node: OnnxNode, dims: readonly number[], axes: number[] | undefined): number[] {
  if (!axes || axes.length === 0) return dims.filter((d) => d !== 1);
  const norm = new Set(axes.map((a) => normAxis(node, a, dims.length)));
  for (const a of norm) if (dims[a] !== 1) throw new Error(`${where(node)}: cannot squeeze axis ${a} of size ${dims[a]}`);
  return dims.filter((_, i) => !norm.has(i));
}

function reshapeLike(compute: (node: OnnxNode, dims: readonly number[], inputs: (Val | undefined)[], opset: number) => number[], hostInputs: number[]): OpDef {
  return {
    hostInputs,
    run(node, inputs, ctx) {
      const x = requireInput(node, inputs, 0, 'data');
      const dims = compute(node, onnxShape(x), inputs, ctx.opset);
      if (x.kind === 'host') return [hostVal(host(dims, x.h.data, x.h.dtype))];
      // NHWC [N,1,1,C] has the same element order as NCHW: skip the transpose.
      const t = x.nhwc && x.t.shape[1] === 1 && x.t.shape[2] === 1 ? x.t : plain(x);
      return [tensorVal(t.reshape(dims))];
    },
  };
}

function concatOp(): OpDef {
  return {
    host(node, parts) {
      const hs = parts.map((p, i) => requireInput(node, [p], 0, `input ${i}`));
      return [hostConcat(hs, normAxis(node, attrInt(node, 'axis', 0), hs[0]!.dims.length))];
    },
    run(node, inputs) {
      const vals = inputs.map((v, i) => requireInput(node, [v], 0, `input ${i}`));
      const rank = onnxShape(vals[0]!).length;
      const axis = normAxis(node, attrInt(node, 'axis', 0), rank);
      if (rank === 4 && vals.some((v) => v.kind === 'tensor' && v.nhwc)) {
        return [tensorVal(tf.concat(vals.map((v) => nhwc(v, where(node))), NCHW_TO_NHWC_AXIS[axis]!), true)];
      }
      return [tensorVal(tf.concat(vals.map(plain), axis))];
    },
  };
}

function transposeOp(): OpDef {
  const permOf = (node: OnnxNode, rank: number) => attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return {
    host: (node, [x]) => {
      const h = requireInput(node, [x], 0, 'data');
      return [hostTranspose(h, permOf(node, h.dims.length))];
    },
    run(node, inputs) {
      const x = requireInput(node, inputs, 0, 'data');
      const t = plain(x);
      return [tensorVal(tf.transpose(t, permOf(node, t.rank)))];
    },
  };
}

interface SliceSpec {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

function sliceSpec(node: OnnxNode, inputs: (Val | undefined)[], opset: number, rank: number): SliceSpec {
  const starts = opset >= 10 ? hostValues(node, inputs[1], 'starts') : attrInts(node, 'starts');
  const ends = opset >= 10 ? hostValues(node, inputs[2], 'ends') : attrInts(node, 'ends');
  if (!starts || !ends || starts.length !== ends.length) throw new Error(`${where(node)}: starts and ends must be given with equal lengths`);
  const axes = (opset >= 10 ? hostValues(node, inputs[3], 'axes') : attrInts(node, 'axes')) ?? starts.map((_, i) => i);
  const steps = (opset >= 10 ? hostValues(node, inputs[4], 'steps') : undefined) ?? starts.map(() => 1);
  return { starts, ends, axes: axes.map((a) => normAxis(node, a, rank)), steps };
}

function sliceOp(): OpDef {
  return {
    hostInputs: [1, 2, 3, 4],
    run(node, inputs, ctx) {
      const x = requireInput(node, inputs, 0, 'data');
      const dims = onnxShape(x);
      const spec = sliceSpec(node, inputs, ctx.opset, dims.length);
      if (x.kind === 'host') return [hostVal(hostSlice(x.h, spec.starts, spec.ends, spec.axes, spec.steps))];
      // tf.slice (has a gradient) for unit steps; a gather per axis for other steps.
      let t = plain(x);
      const begin = dims.map(() => 0);
      const size = [...dims];
      const strided: { axis: number; start: number; step: number; count: number }[] = [];
      spec.axes.forEach((axis, k) => {
        const r = resolveSliceRange(dims[axis]!, spec.starts[k]!, spec.ends[k]!, spec.steps[k]!);
        if (r.step === 1) {
          begin[axis] = r.start;
          size[axis] = r.count;
        } else strided.push({ axis, ...r });
      });
      t = tf.slice(t, begin, size);
      for (const s of strided) {
        const idx = Array.from({ length: s.count }, (_, i) => s.start + i * s.step);
        t = tf.gather(t, tf.tensor1d(idx, 'int32'), s.axis);
      }
      return [tensorVal(t)];
    },
  };
}

export const shapeOps: Record<string, OpDef> = {
  Constant: constantOp(),
  Shape: shapeOp(),
  ConstantOfShape: constantOfShapeOp(),
  Gather: gatherOp(),
  Unsqueeze: reshapeLike((node, dims, inputs, opset) => {
    const axes = axesOf(node, inputs, opset);
    if (!axes) throw new Error(`${where(node)}: axes missing`);
    return unsqueezeDims(node, dims, axes);
  }, [1]),
  Squeeze: reshapeLike((node, dims, inputs, opset) => squeezeDims(node, dims, axesOf(node, inputs, opset)), [1]),
  Reshape: reshapeLike((node, dims, inputs) => {
    const target = hostValues(node, inputs[1], 'shape');
    if (!target) throw new Error(`${where(node)}: shape input missing`);
    return resolveReshape(dims, target, attrInt(node, 'allowzero', 0) === 1, where(node));
  }, [1]),
  Flatten: reshapeLike((node, dims) => {
    const axis = attrInt(node, 'axis', 1);
    const a = axis < 0 ? axis + dims.length : axis;
    return [sizeOf(dims.slice(0, a)), sizeOf(dims.slice(a))];
  }, []),
  Concat: concatOp(),
  Transpose: transposeOp(),
  Slice: sliceOp(),
};
