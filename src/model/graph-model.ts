/**
 * AdaptableModel over a Program: owns the variables (parameters and norm statistics),
 * the norm layers and their modes, and applies the model card's input preprocessing.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from './host.ts';
import { BatchNormLayer } from './norm.ts';
import type { Program, ProgramEnv } from './program.ts';
import type { AdaptableModel, ForwardResult, ModelInfo, NormLayer, NormMode, ParamSetName, ParamSnapshot, Task } from './types.ts';

/** Per-channel affine applied to [0, 1] RGB before the graph: (x - mean) / std. */
export interface Preprocess {
  mean: readonly number[];
  std: readonly number[];
}

export interface GraphModelOptions {
  name: string;
  hash: string;
  task?: Task;
  inputShape?: readonly [number, number, number];
  preprocess?: Preprocess;
}

let modelCounter = 0;

function toTensor(h: HostTensor): tf.Tensor {
  return tf.tensor(h.data as Float32Array, [...h.dims], 'float32');
}

export class GraphModel implements AdaptableModel {
  readonly info: ModelInfo;
  readonly norms: readonly BatchNormLayer[];
  readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly stats: ReadonlyMap<string, tf.Variable>;
  private readonly normByName: ReadonlyMap<string, BatchNormLayer>;
  private readonly keyOf = new Map<tf.Variable, string>();
  private disposed = false;

  private constructor(
    private readonly program: Program,
    private readonly opts: GraphModelOptions,
    info: ModelInfo | undefined,
    initial: (name: string) => tf.Tensor,
  ) {
    const id = `m${modelCounter++}`;
    const make = (names: Iterable<string>, trainable: boolean) =>
      new Map(
        [...names].map((name) => {
          const t = initial(name);
          const v = tf.variable(t, trainable, `${id}/${name}`);
          // The variable holds its own reference to the data: without this the weights outlive dispose().
          t.dispose();
          this.keyOf.set(v, name);
          return [name, v] as const;
        }),
      );
    this.params = make(program.params.keys(), true);
    this.stats = make(program.stats.keys(), false);
    const seen = new Set<string>();
    this.norms = program.norms.map((s) => {
      if (seen.has(s.name)) throw new Error(`model ${opts.name}: two norm layers named '${s.name}'`);
      seen.add(s.name);
      return new BatchNormLayer(s.name, s.channels, s.epsilon, this.variable(s.weight), this.variable(s.bias), this.variable(s.mean), this.variable(s.variance));
    });
    this.normByName = new Map(this.norms.map((n) => [n.name, n]));
    this.info = info ?? this.analyse();
  }

  /** Build from a program: one dry run on a zero image finds norm stages and the output shape. */
  static create(program: Program, opts: GraphModelOptions): GraphModel {
    return new GraphModel(program, opts, undefined, (name) => toTensor(program.params.get(name) ?? program.stats.get(name)!));
  }

  private variable(name: string): tf.Variable {
    const v = this.params.get(name) ?? this.stats.get(name);
    if (!v) throw new Error(`model ${this.opts.name}: no variable '${name}'`);
    return v;
  }

  private env(onNorm?: ProgramEnv['onNorm']): ProgramEnv {
    return {
      variable: (n) => this.variable(n),
      norm: (n) => {
        const layer = this.normByName.get(n);
        if (!layer) throw new Error(`model ${this.opts.name}: no norm layer '${n}'`);
        return layer;
      },
      onNorm,
    };
  }

  private analyse(): ModelInfo {
    const inputShape = this.opts.inputShape ?? this.program.declaredInputShape;
    if (!inputShape) throw new Error(`model ${this.opts.name}: the graph declares no fixed input size; pass opts.inputShape [H, W, C]`);
    const seen: { name: string; hw: string }[] = [];
    const out = tf.tidy(() => {
      const x = tf.zeros([1, ...inputShape]) as tf.Tensor4D;
      return this.program.run(this.preprocess(x), this.env((name, hw) => seen.push({ name, hw: hw.join('x') })), false).out;
    });
    const shape = out.shape;
    out.dispose();
    // A new stage starts whenever the spatial size differs from the previous norm layer's.
    let stage = 0;
    seen.forEach((s, i) => {
      if (i > 0 && s.hw !== seen[i - 1]!.hw) stage++;
      this.normByName.get(s.name)!.stage = stage;
    });
    const task = this.opts.task ?? (shape.length === 4 ? 'segmentation' : 'classification');
    if (task === 'segmentation' && shape.length !== 4) throw new Error(`model ${this.opts.name}: segmentation needs a 4-D output, got [${shape}]`);
    if (task === 'classification' && shape.length !== 2) throw new Error(`model ${this.opts.name}: classification needs a [N, classes] output, got [${shape}]`);
    return { name: this.opts.name, task, inputShape: [...inputShape] as [number, number, number], numClasses: shape[shape.length - 1]!, hash: this.opts.hash };
  }

  private preprocess(x: tf.Tensor4D): tf.Tensor4D {
    const p = this.opts.preprocess;
    if (!p) return x;
    return tf.div(tf.sub(x, tf.tensor1d([...p.mean])), tf.tensor1d([...p.std]));
  }

  forward(images: tf.Tensor4D, opts: { features?: boolean } = {}): ForwardResult {
    if (this.disposed) throw new Error(`model ${this.info.name}: used after dispose()`);
    const [h, w, c] = this.info.inputShape;
    if (images.rank !== 4 || images.shape[3] !== c) {
      throw new Error(`model ${this.info.name}: forward expects NHWC images with ${c} channels, got shape [${images.shape}]`);
    }
    if (this.info.task === 'classification' && (images.shape[1] !== h || images.shape[2] !== w)) {
      // Fully convolutional classifiers would run, but the source model was not trained for it.
      throw new Error(`model ${this.info.name}: expects ${h}x${w} images, got ${images.shape[1]}x${images.shape[2]}`);
    }
    const want = opts.features === true;
    return tf.tidy(() => {
      const r = this.program.run(this.preprocess(images), this.env(), want);
      if (want && !r.features) throw new Error(`model ${this.info.name}: no final classifier layer to take features from`);
      return want ? { logits: r.out, features: r.features } : { logits: r.out };
    });
  }

  setNormMode(mode: NormMode, filter?: (layer: NormLayer) => boolean): void {
    for (const n of this.norms) if (!filter || filter(n)) n.mode = { ...mode };
  }

  parameters(set: ParamSetName): tf.Variable[] {
    if (set === 'all') return [...this.params.values()];
    const lastStage = Math.max(0, ...this.norms.map((n) => n.stage));
    const chosen = set === 'norm-affine' ? this.norms : this.norms.filter((n) => n.stage < lastStage);
    return chosen.flatMap((n) => [n.weight, n.bias]);
  }

  snapshot(vars?: readonly tf.Variable[]): ParamSnapshot {
    const list = vars ?? [...this.params.values(), ...this.stats.values()];
    const values = new Map<string, tf.Tensor>();
    for (const v of list) {
      const key = this.keyOf.get(v);
      if (key === undefined) throw new Error(`model ${this.info.name}: snapshot of a variable it does not own (${v.name})`);
      values.set(key, tf.clone(v));
    }
    return { values, dispose: () => values.forEach((t) => t.dispose()) };
  }

  restore(snapshot: ParamSnapshot): void {
    for (const [key, t] of snapshot.values) {
      const v = this.params.get(key) ?? this.stats.get(key);
      if (!v) throw new Error(`model ${this.info.name}: snapshot has unknown variable '${key}'`);
      if (!tf.util.arraysEqual(v.shape, t.shape)) throw new Error(`model ${this.info.name}: snapshot '${key}' has shape [${t.shape}], variable [${v.shape}]`);
      v.assign(t);
    }
  }

  clone(): GraphModel {
    const copy = new GraphModel(this.program, this.opts, this.info, (name) => tf.clone(this.variable(name)));
    copy.norms.forEach((n, i) => {
      n.mode = { ...this.norms[i]!.mode };
      n.stage = this.norms[i]!.stage;
    });
    return copy;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of [...this.params.values(), ...this.stats.values()]) v.dispose();
  }
}
