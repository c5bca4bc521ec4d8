/** The op-implementation contract and attribute readers with errors that name the node. */
import type * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../host.ts';
import type { BatchNormLayer } from '../norm.ts';
import type { AttrValue, OnnxNode } from './decode.ts';
import type { Val } from './values.ts';

export interface ExecContext {
  readonly opset: number;
  /** The norm layer built for a BatchNormalization node. */
  norm(nodeName: string): BatchNormLayer;
  /** Called for every BatchNormalization with its activation's spatial size (stage detection). */
  onNorm?(nodeName: string, hw: readonly [number, number]): void;
}

export interface OpDef {
  /** Input positions read on the host (shapes, axes, pads, scales): never tensors. */
  readonly hostInputs?: readonly number[];
  /** Evaluate on the host when every input is a host value (shape arithmetic). */
  host?(node: OnnxNode, inputs: (HostTensor | undefined)[], ctx: ExecContext): HostTensor[];
  run(node: OnnxNode, inputs: (Val | undefined)[], ctx: ExecContext): Val[];
}

export function where(node: OnnxNode): string {
  return `${node.opType} node '${node.name}'`;
}

function attr(node: OnnxNode, name: string): AttrValue | undefined {
  return node.attrs.get(name);
}

export function attrInt(node: OnnxNode, name: string, dflt: number): number {
  const v = attr(node, name);
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new Error(`${where(node)}: attribute ${name} must be an int`);
  return v;
}

export function attrFloat(node: OnnxNode, name: string, dflt: number): number {
  return attrInt(node, name, dflt);
}

export function attrInts(node: OnnxNode, name: string): number[] | undefined;
export function attrInts(node: OnnxNode, name: string, dflt: number[]): number[];
export function attrInts(node: OnnxNode, name: string, dflt?: number[]): number[] | undefined {
  const v = attr(node, name);
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`${where(node)}: attribute ${name} must be a list of ints`);
  return v as number[];
}

export function attrString(node: OnnxNode, name: string, dflt: string): string {
  const v = attr(node, name);
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new Error(`${where(node)}: attribute ${name} must be a string`);
  return v;
}

export function attrTensor(node: OnnxNode, name: string): HostTensor | undefined {
  const v = attr(node, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where(node)}: attribute ${name} must be a tensor`);
  return v as HostTensor;
}

export function requireInput<T>(node: OnnxNode, inputs: (T | undefined)[], i: number, what: string): T {
  const v = inputs[i];
  if (v === undefined) throw new Error(`${where(node)}: missing input ${i} (${what})`);
  return v;
}

/** Host input as a list of numbers (shapes, axes, pads, scales, clip bounds). */
export function hostValues(node: OnnxNode, v: Val | undefined, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (v.kind !== 'host') throw new Error(`${where(node)}: ${what} must be a constant or computed from shapes, not a runtime tensor`);
  return Array.from(v.h.data);
}

export type TensorFn = (x: tf.Tensor) => tf.Tensor;
