/**
 * Turns a decoded ONNX graph into a Program: validates it (supported ops, every input
 * defined, norm parameters present), sorts initializers into trainable parameters,
 * norm statistics and host constants, and executes it node by node.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../host.ts';
import type { NormSpec, Program, ProgramEnv, ProgramOutput } from '../program.ts';
import type { OnnxGraph, OnnxNode } from './decode.ts';
import { attrInt, where, type ExecContext, type OpDef } from './op.ts';
import { elementwiseOps } from './ops-elementwise.ts';
import { resizeOps } from './ops-resize.ts';
import { shapeOps } from './ops-shape.ts';
import { spatialOps } from './ops-spatial.ts';
import { hostVal, plain, tensorVal, type Val } from './values.ts';

export const ONNX_OPS: Readonly<Record<string, OpDef>> = { ...elementwiseOps, ...shapeOps, ...spatialOps, ...resizeOps };

const MIN_OPSET = 7;
const MAX_OPSET = 18;

export function buildOnnxProgram(g: OnnxGraph, fileName: string): Program {
  if (g.opset < MIN_OPSET || g.opset > MAX_OPSET) throw new Error(`${fileName}: opset ${g.opset} is not supported (${MIN_OPSET}-${MAX_OPSET})`);
  const inputName = g.inputs[0]!.name;
  const defined = new Set<string>([inputName, ...g.initializers.keys()]);
  const tensorUse = new Set<string>();
  for (const node of g.nodes) {
    const op = ONNX_OPS[node.opType];
    if (!op) throw new Error(`${fileName}: unsupported op '${node.opType}' at node '${node.name}'`);
    node.inputs.forEach((name, i) => {
      if (name === '') return;
      if (!defined.has(name)) {
        throw new Error(`${fileName}: ${where(node)} input ${i} '${name}' is not produced by any earlier node, initializer or graph input (missing initializer?)`);
      }
      if (!op.hostInputs?.includes(i)) tensorUse.add(name);
    });
    for (const o of node.outputs) if (o) defined.add(o);
  }
  const outputName = g.outputs[0]?.name;
  if (!outputName || !defined.has(outputName)) throw new Error(`${fileName}: graph output '${outputName ?? ''}' is not produced by any node`);

  const norms = g.nodes.filter((n) => n.opType === 'BatchNormalization').map((n) => normSpec(n, g.initializers, fileName));
  const stats = new Map<string, HostTensor>();
  for (const n of norms) {
    stats.set(n.mean, g.initializers.get(n.mean)!);
    stats.set(n.variance, g.initializers.get(n.variance)!);
  }
  const params = new Map<string, HostTensor>();
  for (const [name, t] of g.initializers) {
    if (t.dtype === 'float' && tensorUse.has(name) && !stats.has(name)) params.set(name, t);
  }
  const classifier = [...g.nodes].reverse().find((n) => n.opType === 'Gemm' || n.opType === 'MatMul');
  const d = g.inputs[0]!.dims;
  const declaredInputShape = d && d.length === 4 && d.slice(1).every((x) => x > 0) ? ([d[2]!, d[3]!, d[1]!] as const) : undefined;

  function run(x: tf.Tensor4D, env: ProgramEnv, wantFeatures: boolean): ProgramOutput {
    const ctx: ExecContext = { opset: g.opset, norm: (n) => env.norm(n), onNorm: env.onNorm };
    const vals = new Map<string, Val>([[inputName, tensorVal(x, true)]]);
    let features: tf.Tensor2D | undefined;
    const lookup = (node: OnnxNode, name: string, i: number): Val | undefined => {
      if (name === '') return undefined;
      const v = vals.get(name);
      if (v) return v;
      const op = ONNX_OPS[node.opType]!;
      if (params.has(name) && !op.hostInputs?.includes(i)) return tensorVal(env.variable(name));
      if (stats.has(name)) return tensorVal(env.variable(name));
      return hostVal(g.initializers.get(name)!);
    };
    for (const node of g.nodes) {
      const op = ONNX_OPS[node.opType]!;
      const inputs = node.inputs.map((name, i) => lookup(node, name, i));
      if (wantFeatures && node === classifier) {
        const a = plain(inputs[0]!);
        features = a.reshape([a.shape[0]!, -1]) as tf.Tensor2D;
      }
      const allHost = inputs.every((v) => v === undefined || v.kind === 'host');
      const outs =
        allHost && op.host
          ? op.host(node, inputs.map((v) => (v?.kind === 'host' ? v.h : undefined)), ctx).map(hostVal)
          : op.run(node, inputs, ctx);
      node.outputs.forEach((name, i) => {
        const v = outs[i];
        if (name && v) vals.set(name, v);
      });
    }
    const y = vals.get(outputName!)!;
    const out = y.kind === 'tensor' && y.nhwc ? y.t : plain(y);
    return { out: out.rank === 4 && !(y.kind === 'tensor' && y.nhwc) ? out.transpose([0, 2, 3, 1]) : out, features };
  }

  return { params, stats, norms, declaredInputShape, run };
}

function normSpec(node: OnnxNode, inits: ReadonlyMap<string, HostTensor>, fileName: string): NormSpec {
  const roles = ['scale', 'B', 'input_mean', 'input_var'];
  const names = roles.map((role, k) => {
    const name = node.inputs[k + 1];
    const t = name ? inits.get(name) : undefined;
    if (!name || !t || t.dtype !== 'float') {
      throw new Error(`${fileName}: ${where(node)} ${role} must be a float initializer (got '${name ?? ''}')`);
    }
    return name;
  });
  const channels = inits.get(names[0]!)!.dims[0]!;
  for (const n of names) {
    const t = inits.get(n)!;
    if (t.dims.length !== 1 || t.dims[0] !== channels) throw new Error(`${fileName}: ${where(node)} ${n} has shape [${t.dims}], expected [${channels}]`);
  }
  // Batch statistics are a runtime choice (NormMode), not part of the graph; BN-7's spatial=0
  // (statistics per channel and position) has no counterpart here.
  if (attrInt(node, 'training_mode', 0) !== 0) {
    throw new Error(`${fileName}: ${where(node)}: attribute training_mode=1 is not supported (export in eval mode; batch statistics are chosen with setNormMode)`);
  }
  if (attrInt(node, 'spatial', 1) !== 1) throw new Error(`${fileName}: ${where(node)}: attribute spatial=0 is not supported`);
  const eps = node.attrs.get('epsilon');
  return {
    name: node.name,
    channels,
    epsilon: typeof eps === 'number' ? eps : 1e-5,
    weight: names[0]!,
    bias: names[1]!,
    mean: names[2]!,
    variance: names[3]!,
  };
}
