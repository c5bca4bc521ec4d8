/**
 * TF.js layers format (Keras functional / sequential topology + weightsManifest) -> Program.
 * Activations are NHWC already. A trailing softmax (Softmax layer, Activation('softmax') or a
 * final layer with activation 'softmax') is dropped so that forward returns logits.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFast } from '../conv.ts';
import { host, type HostTensor } from '../host.ts';
import { avgPoolPadded, maxPoolValid } from '../pool.ts';
import type { NormSpec, Program, ProgramEnv, ProgramOutput } from '../program.ts';

interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string }[];
}

interface LayerNode {
  layer: KerasLayer;
  inputs: string[];
}

type Pads4 = [number, number, number, number];

const SUPPORTED = new Set([
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'LeakyReLU', 'ReLU', 'Activation', 'MaxPooling2D',
  'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'ZeroPadding2D', 'Dense', 'Flatten', 'Add',
  'Concatenate', 'Reshape', 'Softmax', 'Dropout',
]);

function pairOf(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  throw new Error(`${what}: expected a number or a pair, got ${JSON.stringify(v)}`);
}

/** TensorFlow 'same' padding: total = max((out-1)*s + (k-1)*d + 1 - in, 0), extra at the end. */
function samePads(inHW: readonly number[], k: readonly number[], s: readonly number[], d: readonly number[]): Pads4 {
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    const o = Math.ceil(inHW[i]! / s[i]!);
    const total = Math.max(0, (o - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!);
    out.push(Math.floor(total / 2), total - Math.floor(total / 2));
  }
  return out as Pads4;
}

function activation(name: unknown, where: string): (x: tf.Tensor) => tf.Tensor {
  switch (name ?? 'linear') {
    case 'linear': return (x) => x;
    case 'relu': return tf.relu;
    case 'relu6': return tf.relu6;
    case 'sigmoid': return tf.sigmoid;
    case 'tanh': return tf.tanh;
    case 'softmax': return (x) => tf.softmax(x);
    default: throw new Error(`${where}: activation '${String(name)}' is not supported`);
  }
}

/** Split the weight bytes (all shards of all groups, manifest order) into named host tensors. */
export function readWeights(manifest: ManifestGroup[], shards: ArrayBuffer | ReadonlyMap<string, ArrayBuffer>): Map<string, HostTensor> {
  const parts =
    shards instanceof ArrayBuffer
      ? [new Uint8Array(shards)]
      : manifest.flatMap((g) =>
          g.paths.map((p) => {
            const b = shards.get(p);
            if (!b) throw new Error(`TF.js weights: shard '${p}' missing`);
            return new Uint8Array(b);
          }),
        );
  const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  const out = new Map<string, HostTensor>();
  off = 0;
  for (const w of manifest.flatMap((g) => g.weights)) {
    if (w.dtype !== 'float32') throw new Error(`TF.js weights: ${w.name} has dtype ${w.dtype}; only float32 is supported`);
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (off + 4 * n > bytes.length) throw new Error(`TF.js weights: data for ${w.name} runs past the end of the weight bytes (${bytes.length})`);
    out.set(w.name, host(w.shape, new Float32Array(bytes.slice(off, off + 4 * n).buffer), 'float'));
    off += 4 * n;
  }
  return out;
}

function layerGraph(topology: Record<string, unknown>): { nodes: LayerNode[]; input: string; output: string; inputShape?: [number, number, number] } {
  const modelConfig = (topology.model_config ?? topology) as { class_name: string; config: unknown };
  const cfg = modelConfig.config as { layers: KerasLayer[]; input_layers?: unknown[][]; output_layers?: unknown[][] } | KerasLayer[];
  const layers = Array.isArray(cfg) ? cfg : cfg.layers;
  if (!Array.isArray(layers) || layers.length === 0) throw new Error('TF.js model: topology has no layers');
  const sequential = modelConfig.class_name === 'Sequential';
  const nodes: LayerNode[] = [];
  let prev: string | undefined;
  for (const layer of layers) {
    if (!SUPPORTED.has(layer.class_name)) throw new Error(`TF.js model: unsupported layer '${layer.class_name}' (layer '${layer.name ?? layer.config.name}')`);
    const name = (layer.name ?? layer.config.name) as string;
    let inputs: string[];
    if (sequential) inputs = prev ? [prev] : [];
    else {
      if (layer.inbound_nodes.length > 1) throw new Error(`TF.js model: layer '${name}' is called more than once (shared layers are not supported)`);
      const inbound = (layer.inbound_nodes[0] ?? []) as unknown[][];
      inputs = inbound.map((i) => i[0] as string);
    }
    nodes.push({ layer: { ...layer, name }, inputs });
    prev = name;
  }
  const first = nodes[0]!.layer;
  const batchShape = first.config.batch_input_shape as (number | null)[] | undefined;
  const inputShape = batchShape && batchShape.length === 4 && batchShape.slice(1).every((d) => typeof d === 'number') ? (batchShape.slice(1) as [number, number, number]) : undefined;
  if (sequential && first.class_name !== 'InputLayer') {
    nodes.unshift({ layer: { name: '__input__', class_name: 'InputLayer', config: {}, inbound_nodes: [] }, inputs: [] });
    nodes[1]!.inputs = ['__input__'];
  }
  const input = Array.isArray(cfg) || sequential ? nodes[0]!.layer.name : ((cfg.input_layers?.[0]?.[0] as string) ?? nodes[0]!.layer.name);
  const output = Array.isArray(cfg) || sequential ? nodes[nodes.length - 1]!.layer.name : ((cfg.output_layers?.[0]?.[0] as string) ?? nodes[nodes.length - 1]!.layer.name);
  return { nodes, input, output, inputShape };
}

export function buildTfjsLayersProgram(modelJson: Record<string, unknown>, shards: ArrayBuffer | ReadonlyMap<string, ArrayBuffer>): Program {
  const topology = modelJson.modelTopology as Record<string, unknown> | undefined;
  const manifest = modelJson.weightsManifest as ManifestGroup[] | undefined;
  if (!topology || !manifest) throw new Error('TF.js model: model.json needs modelTopology and weightsManifest (layers format)');
  const weights = readWeights(manifest, shards);
  const { nodes, input, output, inputShape } = layerGraph(topology);
  const byName = new Map(nodes.map((n) => [n.layer.name, n]));
  for (const n of nodes) for (const i of n.inputs) if (!byName.has(i)) throw new Error(`TF.js model: layer '${n.layer.name}' reads unknown layer '${i}'`);

  const weight = (layer: string, suffix: string, required = true): string | undefined => {
    const name = [...weights.keys()].find((k) => k === `${layer}/${suffix}` || k.endsWith(`/${layer}/${suffix}`));
    if (!name && required) throw new Error(`TF.js model: layer '${layer}' has no weight '${suffix}' in the manifest`);
    return name;
  };

  // Drop a trailing softmax so forward returns logits.
  let outName = output;
  let dropFinalSoftmax = false;
  const outLayer = byName.get(outName)!.layer;
  if (outLayer.class_name === 'Softmax' || (outLayer.class_name === 'Activation' && outLayer.config.activation === 'softmax')) {
    outName = byName.get(outName)!.inputs[0]!;
  } else if (outLayer.config.activation === 'softmax') dropFinalSoftmax = true;

  const params = new Map<string, HostTensor>();
  const stats = new Map<string, HostTensor>();
  const norms: NormSpec[] = [];
  for (const { layer } of nodes) {
    const n = layer.name;
    const c = layer.config;
    if (layer.class_name === 'Conv2D' || layer.class_name === 'Dense') {
      params.set(weight(n, 'kernel')!, weights.get(weight(n, 'kernel')!)!);
      if (c.use_bias !== false) params.set(weight(n, 'bias')!, weights.get(weight(n, 'bias')!)!);
    } else if (layer.class_name === 'DepthwiseConv2D') {
      params.set(weight(n, 'depthwise_kernel')!, weights.get(weight(n, 'depthwise_kernel')!)!);
      if (c.use_bias !== false) params.set(weight(n, 'bias')!, weights.get(weight(n, 'bias')!)!);
    } else if (layer.class_name === 'BatchNormalization') {
      const axis = c.axis;
      if (axis !== -1 && axis !== 3 && !(Array.isArray(axis) && (axis[0] === -1 || axis[0] === 3))) throw new Error(`TF.js model: BatchNormalization '${n}' must normalise the channel axis, got axis ${JSON.stringify(axis)}`);
      const mean = weight(n, 'moving_mean')!;
      const variance = weight(n, 'moving_variance')!;
      const channels = weights.get(mean)!.dims[0]!;
      // center/scale false: a fixed zero shift / unit scale still becomes a variable (NormLayer needs one).
      const gamma = weight(n, 'gamma', c.scale !== false) ?? `${n}/gamma`;
      const beta = weight(n, 'beta', c.center !== false) ?? `${n}/beta`;
      params.set(gamma, weights.get(gamma) ?? host([channels], new Array<number>(channels).fill(1), 'float'));
      params.set(beta, weights.get(beta) ?? host([channels], new Array<number>(channels).fill(0), 'float'));
      stats.set(mean, weights.get(mean)!);
      stats.set(variance, weights.get(variance)!);
      norms.push({ name: n, channels, epsilon: (c.epsilon as number | undefined) ?? 1e-3, weight: gamma, bias: beta, mean, variance });
    }
  }

  // The final classifier: the last Dense, else a last 1x1 Conv2D feeding global pooling.
  const dense = [...nodes].reverse().find((n) => n.layer.class_name === 'Dense');
  const lastConv = [...nodes].reverse().find((n) => n.layer.class_name === 'Conv2D');
  const classifier = dense ?? lastConv;

  function runLayer(node: LayerNode, xs: tf.Tensor[], env: ProgramEnv, isOutput: boolean): tf.Tensor {
    const { layer } = node;
    const c = layer.config;
    const where = `TF.js layer '${layer.name}' (${layer.class_name})`;
    const x = xs[0]!;
    const act = (t: tf.Tensor) => (isOutput && dropFinalSoftmax ? t : activation(c.activation, where)(t));
    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
        return x;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = layer.class_name === 'DepthwiseConv2D';
        const x4 = x as tf.Tensor4D;
        let w = env.variable(weight(layer.name, depthwise ? 'depthwise_kernel' : 'kernel')!) as unknown as tf.Tensor4D;
        const [kh, kw] = w.shape;
        const s = pairOf(c.strides ?? 1, where);
        const d = pairOf(c.dilation_rate ?? 1, where);
        const pads = c.padding === 'same' ? samePads([x4.shape[1], x4.shape[2]], [kh, kw], s, d) : ([0, 0, 0, 0] as Pads4);
        const groups = depthwise ? x4.shape[3] : 1;
        if (depthwise) w = w.reshape([kh, kw, 1, w.shape[2] * w.shape[3]]);
        let y: tf.Tensor = conv2dFast(x4, w, { strides: s, dilations: d, pads, groups });
        if (c.use_bias !== false) y = tf.add(y, env.variable(weight(layer.name, 'bias')!));
        return act(y);
      }
      case 'Dense': {
        let y = tf.matMul(x.rank === 2 ? x : x.reshape([-1, x.shape[x.rank - 1]!]), env.variable(weight(layer.name, 'kernel')!));
        if (c.use_bias !== false) y = tf.add(y, env.variable(weight(layer.name, 'bias')!));
        if (x.rank !== 2) y = y.reshape([...x.shape.slice(0, -1), y.shape[1]!]);
        return act(y);
      }
      case 'BatchNormalization':
        if (x.rank === 4) env.onNorm?.(layer.name, [x.shape[1]!, x.shape[2]!]);
        return env.norm(layer.name).apply(x);
      case 'LeakyReLU':
        return tf.leakyRelu(x, (c.alpha as number | undefined) ?? 0.3);
      case 'ReLU': {
        if ((c.threshold as number | undefined) && c.threshold !== 0) throw new Error(`${where}: threshold is not supported`);
        const slope = (c.negative_slope as number | undefined) ?? 0;
        let y = slope ? tf.leakyRelu(x, slope) : tf.relu(x);
        if (typeof c.max_value === 'number') y = tf.minimum(y, c.max_value);
        return y;
      }
      case 'Activation':
        return act(x);
      case 'Softmax':
        return tf.softmax(x);
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const x4 = x as tf.Tensor4D;
        const k = pairOf(c.pool_size ?? 2, where);
        const s = pairOf(c.strides ?? c.pool_size ?? 2, where);
        const pads = c.padding === 'same' ? samePads([x4.shape[1], x4.shape[2]], k, s, [1, 1]) : ([0, 0, 0, 0] as Pads4);
        if (layer.class_name === 'AveragePooling2D') return avgPoolPadded(x4, k, s, pads, [0, 0], false);
        const [t, b, l, r] = pads;
        const xp = t || b || l || r ? tf.pad(x4, [[0, 0], [t, b], [l, r], [0, 0]], -3.4e38) : x4;
        return maxPoolValid(xp, k, s);
      }
      case 'GlobalAveragePooling2D':
        return tf.mean(x, [1, 2], c.keepdims === true);
      case 'GlobalMaxPooling2D':
        return tf.max(x, [1, 2], c.keepdims === true);
      case 'ZeroPadding2D': {
        const p = c.padding;
        const [[t, b], [l, r]] = typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p) && typeof p[0] === 'number' ? [[p[0], p[0]], [p[1], p[1]]] : (p as [[number, number], [number, number]]);
        return tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]);
      }
      case 'Flatten':
        // Keras flattens NHWC in NHWC order: a plain reshape.
        return x.reshape([x.shape[0]!, -1]);
      case 'Reshape':
        return x.reshape([x.shape[0]!, ...(c.target_shape as number[])]);
      case 'Add':
        return xs.slice(1).reduce((a, b) => tf.add(a, b), x);
      case 'Concatenate':
        return tf.concat(xs, (c.axis as number | undefined) ?? -1);
      default:
        throw new Error(`${where}: not supported`);
    }
  }

  function run(x: tf.Tensor4D, env: ProgramEnv, wantFeatures: boolean): ProgramOutput {
    const vals = new Map<string, tf.Tensor>([[input, x]]);
    let features: tf.Tensor2D | undefined;
    for (const node of nodes) {
      if (node.layer.name === input) continue;
      const xs = node.inputs.map((i) => vals.get(i)!);
      if (wantFeatures && node === classifier) {
        const f = xs[0]!;
        features = (f.rank === 4 ? tf.mean(f, [1, 2]) : f.reshape([f.shape[0]!, -1])) as tf.Tensor2D;
      }
      vals.set(node.layer.name, runLayer(node, xs, env, node.layer.name === outName));
      if (node.layer.name === outName) break;
    }
    return { out: vals.get(outName)!, features };
  }

  return { params, stats, norms, declaredInputShape: inputShape, run };
}
