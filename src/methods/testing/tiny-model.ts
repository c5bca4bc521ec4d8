/**
 * A tiny conv-BN network on the AdaptableModel contract, written directly in tfjs so the
 * methods can be tested with hand-checkable numbers independently of the ONNX importer:
 * conv3x3 -> BN -> ReLU -> conv3x3/2 -> BN -> ReLU -> global average pool -> linear
 * (segmentation: a 1x1 conv head on the stride-2 map instead of pool + linear).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, ForwardResult, ModelInfo, NormLayer, NormMode, ParamSetName, ParamSnapshot, Task } from '../../model/types.ts';
import { Rng } from '../../util/rng.ts';

export interface TinyModelOptions {
  task?: Task;
  numClasses?: number;
  inputSize?: number;
  width?: number;
  seed?: number;
}

/** Batch mean and biased variance over N, H, W (as PyTorch's train-mode BatchNorm normalises). */
function batchMoments(x: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = tf.mean(x, [0, 1, 2]) as tf.Tensor1D;
  const variance = tf.mean(tf.square(tf.sub(x, mean)), [0, 1, 2]) as tf.Tensor1D;
  return { mean, variance };
}

/** Detached copy: the stored statistics never carry gradients. */
const detach = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

function applyNorm(layer: NormLayer, x: tf.Tensor4D): tf.Tensor4D {
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  const mode: NormMode = layer.mode;
  if (mode.kind === 'running') {
    mean = layer.runningMean;
    variance = layer.runningVar;
  } else {
    const b = batchMoments(x);
    if (mode.kind === 'batch') {
      mean = b.mean;
      variance = b.variance;
    } else {
      const a = mode.kind === 'mixed' ? mode.alpha : mode.momentum;
      mean = tf.add(tf.mul(1 - a, layer.runningMean), tf.mul(a, b.mean));
      variance = tf.add(tf.mul(1 - a, layer.runningVar), tf.mul(a, b.variance));
      if (mode.kind === 'ema') {
        layer.runningMean.assign(detach(mean) as tf.Tensor1D);
        layer.runningVar.assign(detach(variance) as tf.Tensor1D);
      }
    }
  }
  const inv = tf.rsqrt(tf.add(variance, layer.epsilon));
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), inv), layer.weight), layer.bias) as tf.Tensor4D;
}

interface TinyNorm extends NormLayer {
  mode: NormMode;
}

class TinyModel implements AdaptableModel {
  readonly info: ModelInfo;
  readonly norms: TinyNorm[];
  readonly params: Map<string, tf.Variable>;
  private readonly stats: tf.Variable[];

  constructor(info: ModelInfo, values: Map<string, tf.Tensor>, private readonly opts: Required<TinyModelOptions>) {
    this.info = info;
    this.params = new Map();
    const v = (name: string) => {
      const t = values.get(name);
      if (!t) throw new Error(`tiny model: missing value '${name}'`);
      return tf.variable(t, true, `${name}_${nextId++}`);
    };
    for (const name of ['conv1.weight', 'bn1.weight', 'bn1.bias', 'conv2.weight', 'bn2.weight', 'bn2.bias', 'head.weight', 'head.bias']) {
      this.params.set(name, v(name));
    }
    const norm = (name: string, stage: number): TinyNorm => ({
      name,
      channels: opts.width,
      stage,
      epsilon: 1e-5,
      weight: this.params.get(`${name}.weight`)!,
      bias: this.params.get(`${name}.bias`)!,
      runningMean: v(`${name}.running_mean`),
      runningVar: v(`${name}.running_var`),
      mode: { kind: 'running' },
    });
    this.norms = [norm('bn1', 0), norm('bn2', 1)];
    this.stats = this.norms.flatMap((n) => [n.runningMean, n.runningVar]);
  }

  forward(images: tf.Tensor4D, opts: { features?: boolean } = {}): ForwardResult {
    return tf.tidy(() => {
      const p = (name: string) => this.params.get(name)!;
      let h = tf.conv2d(images, p('conv1.weight') as tf.Tensor4D, 1, 'same');
      h = tf.relu(applyNorm(this.norms[0]!, h));
      h = tf.conv2d(h, p('conv2.weight') as tf.Tensor4D, 2, 'same');
      h = tf.relu(applyNorm(this.norms[1]!, h));
      if (this.info.task === 'segmentation') {
        const w = tf.reshape(p('head.weight'), [1, 1, this.opts.width, this.opts.numClasses]) as tf.Tensor4D;
        return { logits: tf.add(tf.conv2d(h, w, 1, 'same'), p('head.bias')) };
      }
      const features = tf.mean(h, [1, 2]) as tf.Tensor2D;
      const logits = tf.add(tf.matMul(features, p('head.weight') as tf.Tensor2D), p('head.bias'));
      return opts.features ? { logits, features } : { logits };
    });
  }

  setNormMode(mode: NormMode, filter?: (layer: NormLayer) => boolean): void {
    for (const n of this.norms) if (!filter || filter(n)) n.mode = { ...mode };
  }

  parameters(set: ParamSetName): tf.Variable[] {
    if (set === 'all') return [...this.params.values()];
    const lastStage = Math.max(...this.norms.map((n) => n.stage));
    return this.norms.filter((n) => set === 'norm-affine' || n.stage < lastStage).flatMap((n) => [n.weight, n.bias]);
  }

  snapshot(vars?: readonly tf.Variable[]): ParamSnapshot {
    const list = vars ?? [...this.params.values(), ...this.stats];
    const values = new Map(list.map((x) => [x.name, tf.clone(x)] as const));
    return { values, dispose: () => values.forEach((t) => t.dispose()) };
  }

  restore(snapshot: ParamSnapshot): void {
    const all = new Map([...this.params.values(), ...this.stats].map((x) => [x.name, x] as const));
    for (const [name, value] of snapshot.values) {
      const target = all.get(name);
      if (!target) throw new Error(`tiny model restore: unknown variable '${name}'`);
      target.assign(value);
    }
  }

  clone(): AdaptableModel {
    const values = new Map<string, tf.Tensor>();
    for (const [name, p] of this.params) values.set(name, p);
    for (const n of this.norms) {
      values.set(`${n.name}.running_mean`, n.runningMean);
      values.set(`${n.name}.running_var`, n.runningVar);
    }
    const copy = new TinyModel(this.info, values, this.opts);
    copy.norms.forEach((n, i) => (n.mode = { ...this.norms[i]!.mode }));
    return copy;
  }

  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    for (const s of this.stats) s.dispose();
  }
}

let nextId = 0;

/** Seeded random weights and plausible (non-trivial) running statistics. */
export function createTinyModel(options: TinyModelOptions = {}): AdaptableModel {
  const opts: Required<TinyModelOptions> = {
    task: options.task ?? 'classification',
    numClasses: options.numClasses ?? 4,
    inputSize: options.inputSize ?? 8,
    width: options.width ?? 6,
    seed: options.seed ?? 1,
  };
  const rng = new Rng(opts.seed);
  const arr = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const w = opts.width;
  const c = opts.numClasses;
  const values = new Map<string, tf.Tensor>([
    ['conv1.weight', tf.tensor4d(arr(9 * 3 * w, () => rng.normal(0, 0.5)), [3, 3, 3, w])],
    ['conv2.weight', tf.tensor4d(arr(9 * w * w, () => rng.normal(0, 0.3)), [3, 3, w, w])],
    ['head.weight', tf.tensor2d(arr(w * c, () => rng.normal(0, 1)), [w, c])],
    ['head.bias', tf.tensor1d(arr(c, () => rng.normal(0, 0.1)))],
  ]);
  for (const bn of ['bn1', 'bn2']) {
    values.set(`${bn}.weight`, tf.tensor1d(arr(w, () => rng.uniform(0.5, 1.5))));
    values.set(`${bn}.bias`, tf.tensor1d(arr(w, () => rng.normal(0, 0.2))));
    values.set(`${bn}.running_mean`, tf.tensor1d(arr(w, () => rng.normal(0, 0.3))));
    values.set(`${bn}.running_var`, tf.tensor1d(arr(w, () => rng.uniform(0.5, 2))));
  }
  const info: ModelInfo = {
    name: `tiny-${opts.task}`,
    task: opts.task,
    inputShape: [opts.inputSize, opts.inputSize, 3],
    numClasses: c,
    hash: `tiny-seed-${opts.seed}`,
  };
  const model = new TinyModel(info, values, opts);
  values.forEach((t) => t.dispose());
  return model;
}

/** Seeded RGB images in [0, 1]. */
export function randomImages(n: number, size: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size * 3 }, () => rng.random()), [n, size, size, 3]);
}
