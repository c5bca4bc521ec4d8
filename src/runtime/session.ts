/**
 * One runtime session: a backend, a loaded model and (later) an adapting method. The
 * worker exposes it over Comlink; Node scripts use it directly. Every public call either
 * succeeds or throws a clear error, leaving the loaded model and its adapted state intact.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice, type BackendInfo, type InitOptions } from './backend.ts';
import { batchToTensor, type ImageBatch } from './images.ts';
import { loadOnnxModel, loadTfjsLayersModel } from '../model/index.ts';
import type { AdaptableModel, ModelInfo, ParamSnapshot, Task } from '../model/types.ts';
import type { MethodContext, MethodState, TTAMethod } from '../methods/types.ts';
import { LaneRunner, type LaneStep } from '../demo/lanes.ts';
import { createMethod } from '../methods/index.ts';
import { Simulator, type CorruptionSpec, type OverlayLoader } from '../demo/simulate.ts';
import type { FeedbackMark } from '../demo/feedback.ts';
import type { AdaptedState } from '../demo/persist.ts';
import { guardMethod, type GuardEvent, type GuardSettings } from '../methods/guard.ts';
import { disposeMethodState } from '../methods/common.ts';
import { deserializeMethodState, exportModelValues, importModelValues, serializeMethodState, type SerializedMethodState } from './resilient-state.ts';
import type { TensorRecord } from '../demo/persist.ts';

export type ModelSource =
  | { format: 'onnx'; bytes: Uint8Array }
  | { format: 'tfjs-layers'; modelJson: object; weights: Map<string, ArrayBuffer> };

/** The benchmark method's adapted state: model values plus the method's own state (optimiser, teacher, memory, random streams). */
export interface MethodCheckpoint {
  method: string;
  /** sha256 of the model file the state belongs to. */
  hash: string;
  values: TensorRecord[];
  methodState?: SerializedMethodState;
}

export interface LoadOptions {
  name: string;
  task?: Task;
  inputShape?: [number, number, number];
}

export interface Prediction {
  /** Probabilities, row-major with `shape` ([N, C] or [N, H, W, C]). */
  probs: Float32Array;
  shape: number[];
  /** Arg-max class per image (classification) or per pixel (segmentation). */
  labels: Int32Array;
  ms: number;
}

export interface NormStats {
  name: string;
  channels: number;
  stage: number;
  mode: string;
  weightMean: number;
  biasMean: number;
  runningMeanMean: number;
  runningVarMean: number;
}

export interface LaneConfig {
  method: string;
  dataset: MethodContext['dataset'];
  seed?: number;
  /** Also run the frozen source model on every batch. */
  compareSource?: boolean;
  /** Guard rails (NaN/Inf rollback, collapse reset); on with defaults unless false. */
  guard?: GuardSettings | false;
  /** Hyper-parameter overrides of the method (see methodInfo(name).defaults). */
  overrides?: Record<string, unknown>;
}

export interface RuntimeMemory {
  numTensors: number;
  numBytes: number;
  wasmHeapBytes?: number;
  gpuBytesInUse?: number;
  gpuBytesAllocated?: number;
}

/** One adaptation step's outcome, as plain arrays. */
export interface MethodStep {
  /** Arg-max class per image (classification) or per pixel (segmentation). */
  labels: Int32Array;
  outlierScore?: Float32Array;
  /** Softmax entropy of each image's prediction (classification): a default outlier score. */
  entropy?: Float32Array;
  /** Per image: 1 where its prediction holds a NaN/Inf. */
  nonFinite: Uint8Array;
  stats: Record<string, number>;
  ms: number;
}

export class TTASession {
  private model: AdaptableModel | undefined;
  /** The model's values as loaded: every method starts from them. */
  private sourceValues: ParamSnapshot | undefined;
  private method: TTAMethod | undefined;
  private lanes: LaneRunner | undefined;
  private simulator: Simulator | undefined;
  /** Guard events not yet collected by takeGuardEvents(). */
  private guardEvents: GuardEvent[] = [];
  backendInfo: BackendInfo | undefined;

  async init(backend: BackendChoice = 'auto', opts: InitOptions = {}): Promise<BackendInfo> {
    this.disposeModel();
    this.backendInfo = await initBackend(backend, opts);
    return this.backendInfo;
  }

  async loadModel(source: ModelSource, opts: LoadOptions): Promise<ModelInfo> {
    if (!this.backendInfo) throw new Error('call init() before loadModel()');
    const model =
      source.format === 'onnx'
        ? await loadOnnxModel(source.bytes, opts)
        : await loadTfjsLayersModel(source.modelJson, source.weights, opts);
    this.disposeModel();
    this.model = model;
    this.sourceValues = model.snapshot();
    return model.info;
  }

  private requireModel(): AdaptableModel {
    if (!this.model) throw new Error('no model loaded: call loadModel() first');
    return this.model;
  }

  /** Forward pass with the model as it is now (no adaptation). */
  async predict(batch: ImageBatch): Promise<Prediction> {
    const model = this.requireModel();
    const t0 = performance.now();
    const x = batchToTensor(batch, model.info.inputShape);
    const { probs, labels } = tf.tidy(() => {
      const logits = model.forward(x).logits;
      return { probs: tf.softmax(logits), labels: tf.argMax(logits, -1) };
    });
    x.dispose();
    const [p, l] = await Promise.all([probs.data() as Promise<Float32Array>, labels.data() as Promise<Int32Array>]);
    const shape = probs.shape;
    probs.dispose();
    labels.dispose();
    return { probs: p, shape, labels: l, ms: performance.now() - t0 };
  }

  /** Per-layer summaries of the normalisation layers (mode, affine and running statistics). */
  async normStats(): Promise<NormStats[]> {
    const model = this.requireModel();
    return Promise.all(
      model.norms.map(async (n) => {
        const means = tf.tidy(() => tf.stack([n.weight.mean(), n.bias.mean(), n.runningMean.mean(), n.runningVar.mean()]));
        const [w, b, m, v] = Array.from(await means.data());
        means.dispose();
        return {
          name: n.name,
          channels: n.channels,
          stage: n.stage,
          mode: n.mode.kind,
          weightMean: w!,
          biasMean: b!,
          runningMeanMean: m!,
          runningVarMean: v!,
        };
      }),
    );
  }

  /** Demo / components: adapt with `method`, optionally side by side with the frozen source model. */
  async startLanes(config: LaneConfig): Promise<void> {
    const model = this.requireModel();
    this.lanes?.dispose();
    this.lanes = undefined;
    const ctx: MethodContext = { seed: config.seed ?? 0, dataset: config.dataset };
    this.lanes = await LaneRunner.create(model, async (m) => this.guarded(await createMethod(config.method, m, ctx, { overrides: config.overrides }), m, config.guard), {
      compareSource: config.compareSource ?? true,
    });
  }

  private requireLanes(): LaneRunner {
    if (!this.lanes) throw new Error('no method running: call startLanes() first');
    return this.lanes;
  }

  /**
   * Predict with every lane and adapt on one batch. With `corruption`, the batch (uint8) is
   * corrupted first and the corrupted pixels come back in `images`.
   */
  async stepLanes(batch: ImageBatch, corruption?: CorruptionSpec, overlays?: OverlayLoader): Promise<LaneStep & { images?: ImageBatch }> {
    const lanes = this.requireLanes();
    const model = this.requireModel();
    let input = batch;
    if (corruption) {
      this.simulator ??= new Simulator(overlays);
      input = await this.simulator.apply(batch, corruption);
    }
    const x = batchToTensor(input, model.info.inputShape);
    try {
      const out = await lanes.step(x);
      return corruption ? { ...out, images: input } : out;
    } finally {
      x.dispose();
    }
  }

  /** Queue human feedback on one image (a batch of one at the model's input size). */
  async addFeedback(image: ImageBatch, mark: FeedbackMark): Promise<number> {
    const lanes = this.requireLanes();
    const x = batchToTensor(image, this.requireModel().info.inputShape);
    if (x.shape[0] !== 1) {
      x.dispose();
      throw new Error(`feedback takes one image, got ${x.shape[0]}`);
    }
    const data = (await x.data()) as Float32Array;
    x.dispose();
    return lanes.addFeedback(data, mark);
  }

  resetLanes(): void {
    this.requireLanes().reset();
  }

  async exportState(): Promise<AdaptedState> {
    const lanes = this.requireLanes();
    const info = this.requireModel().info;
    const methodState = lanes.exportMethodState();
    return {
      model: info.name,
      hash: info.hash,
      method: lanes.methodName,
      steps: lanes.stepCount,
      savedAt: new Date().toISOString(),
      values: await lanes.exportValues(),
      ...(methodState ? { methodState: await serializeMethodState(methodState) } : {}),
    };
  }

  /** All or nothing: every check runs before the first value is written. */
  importState(state: AdaptedState): void {
    const info = this.requireModel().info;
    const lanes = this.requireLanes();
    if (state.hash !== info.hash) {
      throw new Error(`adapted state is for model '${state.model}' (sha256 ${state.hash.slice(0, 12)}), loaded is '${info.name}' (${info.hash.slice(0, 12)})`);
    }
    if (state.method !== lanes.methodName) {
      throw new Error(`adapted state was made by method '${state.method}', the running method is '${lanes.methodName}'`);
    }
    importChecked(state.methodState, `adapted state of '${state.model}'`, state.method, lanes.exportMethodState(), (incoming) => {
      lanes.importValues(state.values, state.steps);
      if (incoming) lanes.importMethodState(incoming);
    });
  }

  /** Guard events (rollbacks, resets, collapses) since the last call. */
  takeGuardEvents(): GuardEvent[] {
    const out = this.guardEvents;
    this.guardEvents = [];
    return out;
  }

  private guarded(method: TTAMethod, model: AdaptableModel, settings: GuardSettings | false | undefined): TTAMethod {
    if (settings === false) return method;
    return guardMethod(method, model, settings, (e) => {
      this.guardEvents.push(e);
      // Nobody collecting: keep the most recent ones only.
      if (this.guardEvents.length > 1000) this.guardEvents.shift();
    });
  }

  /**
   * Benchmark: adapt with the method `create` builds on the session's model, starting from
   * the source values whatever an earlier method did to them.
   */
  async setMethod(create: (model: AdaptableModel) => TTAMethod | Promise<TTAMethod>, guard?: GuardSettings | false): Promise<void> {
    const model = this.requireModel();
    this.disposeMethod();
    model.restore(this.sourceValues!);
    model.setNormMode({ kind: 'running' });
    this.method = this.guarded(await create(model), model, guard);
  }

  private requireMethod(): TTAMethod {
    if (!this.method) throw new Error('no method set: call setMethod() first');
    return this.method;
  }

  /** Back to the source model and a fresh method state. */
  resetMethod(): void {
    this.requireMethod().reset();
  }

  /** Save the benchmark method's adapted state (resuming a continual run mid-stream). */
  async exportMethodCheckpoint(): Promise<MethodCheckpoint> {
    const method = this.requireMethod();
    const methodState = method.exportState?.();
    const model = this.requireModel();
    return {
      method: method.name,
      hash: model.info.hash,
      values: await exportModelValues(model),
      ...(methodState ? { methodState: await serializeMethodState(methodState) } : {}),
    };
  }

  /** All or nothing: every check runs before the first value is written. */
  importMethodCheckpoint(c: MethodCheckpoint): void {
    const method = this.requireMethod();
    const hash = this.requireModel().info.hash;
    if (c.method !== method.name) throw new Error(`checkpoint was made by method '${c.method}', the running method is '${method.name}'`);
    if (c.hash !== hash) throw new Error(`checkpoint is for model sha256 ${c.hash.slice(0, 12)}, the loaded model is ${hash.slice(0, 12)}`);
    importChecked(c.methodState, `checkpoint of '${c.method}'`, method.name, method.exportState?.(), (incoming) => {
      importModelValues(this.requireModel(), c.values);
      if (incoming) method.importState!(incoming);
    });
  }

  /** Predict on the batch and adapt on it (online), returning the prediction made for it. */
  async step(batch: ImageBatch): Promise<MethodStep> {
    const method = this.requireMethod();
    const t0 = performance.now();
    const x = batchToTensor(batch, this.requireModel().info.inputShape);
    let out;
    try {
      out = await method.step(x);
    } finally {
      x.dispose();
    }
    const { labels, entropy, bad } = tf.tidy(() => {
      const flat = tf.reshape(out.probs, [out.probs.shape[0]!, -1]);
      return {
        labels: tf.argMax(out.probs, -1),
        entropy: out.probs.rank === 2 ? tf.neg(tf.sum(tf.mul(out.probs, tf.log(tf.add(out.probs, 1e-12))), -1)) : undefined,
        // Finite values have x - x == 0; NaN and Inf give NaN, which compares unequal.
        bad: tf.any(tf.notEqual(tf.sub(flat, flat), 0), 1),
      };
    });
    const [l, score, h, b] = await Promise.all([
      labels.data() as Promise<Int32Array>,
      out.outlierScore?.data() as Promise<Float32Array> | undefined,
      entropy?.data() as Promise<Float32Array> | undefined,
      bad.data(),
    ]);
    tf.dispose([labels, entropy, bad, out.probs, out.outlierScore].filter((t) => t !== undefined));
    return { labels: l, outlierScore: score, entropy: h, nonFinite: Uint8Array.from(b), stats: out.stats, ms: performance.now() - t0 };
  }

  private disposeMethod(): void {
    this.method?.dispose();
    this.method = undefined;
  }

  /** True when every parameter and norm statistic of the loaded model is finite (soak and reliability checks). */
  async parametersFinite(): Promise<boolean> {
    const model = this.requireModel();
    const vars = [...model.params.values(), ...model.norms.flatMap((n) => [n.runningMean, n.runningVar])];
    // x * 0 is NaN exactly for NaN and +-Inf.
    const flag = tf.tidy(() => tf.addN(vars.map((v) => tf.sum(tf.mul(v, 0)))));
    const [v] = await flag.data();
    flag.dispose();
    return Number.isFinite(v);
  }

  /**
   * Live tensors and their bytes, plus what the backend itself holds: the WASM heap size
   * (it only grows) or the WebGPU buffer pool (in use / allocated).
   */
  memory(): RuntimeMemory {
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
    const out: RuntimeMemory = { numTensors: m.numTensors, numBytes: m.numBytes };
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
    if (heap) out.wasmHeapBytes = heap.buffer.byteLength;
    if (m.numBytesInGPU !== undefined) out.gpuBytesInUse = m.numBytesInGPU;
    if (m.numBytesAllocatedInGPU !== undefined) out.gpuBytesAllocated = m.numBytesAllocatedInGPU;
    return out;
  }

  private disposeModel(): void {
    this.disposeMethod();
    this.sourceValues?.dispose();
    this.sourceValues = undefined;
    this.lanes?.dispose();
    this.lanes = undefined;
    this.model?.dispose();
    this.model = undefined;
  }

  dispose(): void {
    this.disposeModel();
  }
}

/**
 * Check a saved method state against the running method's own (`current`, taken over and
 * disposed) before `write` writes anything; the deserialised tensors are freed after `write`.
 */
function importChecked(saved: SerializedMethodState | undefined, where: string, method: string, current: MethodState | undefined, write: (incoming: MethodState | undefined) => void): void {
  let incoming: MethodState | undefined;
  try {
    incoming = saved ? deserializeMethodState(saved, where) : undefined;
    if (current) checkSameLayout(current, incoming, method);
    write(incoming);
  } finally {
    if (current) disposeMethodState(current);
    if (incoming) disposeMethodState(incoming);
  }
}

/** A saved method state must have the running method's slots, one entry per variable, shapes matching where both are allocated. */
function checkSameLayout(current: MethodState, incoming: MethodState | undefined, method: string): void {
  if (!incoming) throw new Error(`adapted state has no method state, method '${method}' needs its optimiser state`);
  const slots = Object.keys(current.tensors).sort().join(', ');
  if (Object.keys(incoming.tensors).sort().join(', ') !== slots) {
    throw new Error(`adapted state's method state has slots [${Object.keys(incoming.tensors).join(', ')}], method '${method}' has [${slots}]`);
  }
  for (const [slot, list] of Object.entries(current.tensors)) {
    if (current.perVariableSlots && !current.perVariableSlots.includes(slot)) continue;
    const other = incoming.tensors[slot]!;
    if (other.length !== list.length) throw new Error(`adapted state's method slot '${slot}' has ${other.length} entries, method '${method}' has ${list.length} variables`);
    list.forEach((t, i) => {
      const o = other[i];
      if (t && o && !tf.util.arraysEqual(t.shape, o.shape)) throw new Error(`adapted state's method slot '${slot}' entry ${i} has shape [${o.shape}], method '${method}' has [${t.shape}]`);
    });
  }
}
