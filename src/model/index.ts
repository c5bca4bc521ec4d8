/**
 * Model import. Both loaders return an AdaptableModel (see types.ts) whose forward takes
 * RGB in [0, 1], NHWC, and applies the model's own input scaling inside.
 *
 * Variables are named by the source: ONNX initializer names (ONNX layout, e.g. conv weights
 * OIHW) or Keras weight names. Norm running statistics are variables too, but are not in
 * `params`.
 */
import { GraphModel, type Preprocess } from './graph-model.ts';
import { decodeOnnx } from './onnx/decode.ts';
import { buildOnnxProgram } from './onnx/program.ts';
import { buildTfjsLayersProgram } from './tfjs-layers/program.ts';
import type { AdaptableModel, Task } from './types.ts';

export type { Preprocess } from './graph-model.ts';
export type * from './types.ts';

export interface LoadOptions {
  name: string;
  task?: Task;
  /** [H, W, C]; needed when the graph input has symbolic spatial dims. */
  inputShape?: [number, number, number];
  /** Per-channel (x - mean) / std on [0, 1] RGB, for models that do not normalise inside. */
  preprocess?: Preprocess;
}

export async function sha256Hex(parts: readonly Uint8Array[]): Promise<string> {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const digest = await crypto.subtle.digest('SHA-256', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Build a differentiable model from ONNX bytes (opset 7-18, the ops in onnx/program.ts). */
export async function loadOnnxModel(bytes: Uint8Array, opts: LoadOptions): Promise<AdaptableModel> {
  const graph = decodeOnnx(bytes, opts.name);
  const program = buildOnnxProgram(graph, opts.name);
  return GraphModel.create(program, { ...opts, hash: await sha256Hex([bytes]) });
}

/**
 * Build a differentiable model from a TF.js layers model (model.json contents + weight
 * shards: one ArrayBuffer with all shards in manifest order, or a map from shard path to
 * bytes). A trailing softmax is dropped, so forward returns logits.
 */
export async function loadTfjsLayersModel(
  modelJson: object,
  weights: ArrayBuffer | ReadonlyMap<string, ArrayBuffer>,
  opts: LoadOptions,
): Promise<AdaptableModel> {
  const program = buildTfjsLayersProgram(modelJson as Record<string, unknown>, weights);
  const shardBytes = weights instanceof ArrayBuffer ? [new Uint8Array(weights)] : [...weights.values()].map((b) => new Uint8Array(b));
  const hash = await sha256Hex([new TextEncoder().encode(JSON.stringify(modelJson)), ...shardBytes]);
  return GraphModel.create(program, { ...opts, hash });
}
