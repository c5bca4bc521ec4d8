/**
 * One runtime session: a backend, a loaded model and (later) an adapting method. The
 * worker exposes it over Comlink; Node scripts use it directly. Every public call either
 * succeeds or throws a clear error, leaving the loaded model and its adapted state intact.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice, type BackendInfo, type InitOptions } from './backend.ts';
import { batchToTensor, type ImageBatch } from './images.ts';
import { loadOnnxModel, loadTfjsLayersModel } from '../model/index.ts';
import type { AdaptableModel, ModelInfo, Task } from '../model/types.ts';

export type ModelSource =
  | { format: 'onnx'; bytes: Uint8Array }
  | { format: 'tfjs-layers'; modelJson: unknown; weights: Map<string, ArrayBuffer> };

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

export class TTASession {
  private model: AdaptableModel | undefined;
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

  memory(): { numTensors: number; numBytes: number } {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  private disposeModel(): void {
    this.model?.dispose();
    this.model = undefined;
  }

  dispose(): void {
    this.disposeModel();
  }
}
