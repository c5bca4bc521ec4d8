/**
 * The contract between model importers (ONNX, TF.js layers) and everything that adapts
 * or runs a model (methods, benchmark, demo). Activations are NHWC on every backend.
 */
import type * as tf from '@tensorflow/tfjs';

/** How a normalisation layer gets the statistics it normalises with. */
export type NormMode =
  /** Stored running statistics (eval mode; the frozen source model). */
  | { kind: 'running' }
  /** Statistics of the current batch, stored ones untouched (BN-1, Tent). */
  | { kind: 'batch' }
  /** (1 - alpha) * stored + alpha * batch statistics (BN-alpha, alpha = 0.1 by default). */
  | { kind: 'mixed'; alpha: number }
  /**
   * Stored <- (1 - momentum) * stored + momentum * batch (detached), then normalise with
   * the updated stored statistics (RoTTA's robust BN, BN-EMA).
   */
  | { kind: 'ema'; momentum: number };

export interface NormLayer {
  /** Node name in the source graph. */
  readonly name: string;
  readonly channels: number;
  /** Stage index: norm layers after the last change of spatial resolution form the last stage. */
  readonly stage: number;
  readonly epsilon: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  mode: NormMode;
}

export type ParamSetName = 'norm-affine' | 'norm-affine-except-last-stage' | 'all';

export type Task = 'classification' | 'segmentation';

export interface ModelInfo {
  readonly name: string;
  readonly task: Task;
  /** Input height, width, channels (NHWC without the batch axis). */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** sha256 (hex) of the model file(s) the graph was built from. */
  readonly hash: string;
}

export interface ForwardResult {
  /** Classification: [N, classes]. Segmentation: [N, H, W, classes]. */
  logits: tf.Tensor;
  /** Penultimate features (the input of the final classifier layer), [N, D]; only when asked. */
  features?: tf.Tensor2D;
}

/** Bit-exact copy of parameter and statistic values, keyed by variable name. */
export interface ParamSnapshot {
  readonly values: ReadonlyMap<string, tf.Tensor>;
  dispose(): void;
}

export interface AdaptableModel {
  readonly info: ModelInfo;
  readonly norms: readonly NormLayer[];
  /** Every float parameter (weights, biases, norm affine) as a variable, by name. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /**
   * Run the graph on RGB images in [0, 1], NHWC float32. Input scaling / normalisation
   * declared by the model card is applied inside. Differentiable w.r.t. `params`.
   */
  forward(images: tf.Tensor4D, opts?: { features?: boolean }): ForwardResult;
  /** Set the mode of every norm layer (or of those the filter accepts). */
  setNormMode(mode: NormMode, filter?: (layer: NormLayer) => boolean): void;
  /** The variables of a named parameter set, in a stable order. */
  parameters(set: ParamSetName): tf.Variable[];
  /** Copy the given variables (default: all params and norm statistics). */
  snapshot(vars?: readonly tf.Variable[]): ParamSnapshot;
  /** Write a snapshot back, bit-exactly. */
  restore(snapshot: ParamSnapshot): void;
  /** Deep copy with its own variables (teacher / anchor models). */
  clone(): AdaptableModel;
  dispose(): void;
}
