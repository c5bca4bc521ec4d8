/**
 * One TTA method = one module exporting a factory on this interface:
 * setup (the factory) / forward-and-adapt (step) / reset / state.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, ParamSetName } from '../model/types.ts';
import type { SourceDataProvider } from './shared/fisher.ts';

export interface StepResult {
  /** Predicted probabilities for this batch: [N, C] or, for segmentation, [N, H, W, C]. Caller disposes. */
  probs: tf.Tensor;
  /** Per-sample outlier score (higher = more likely an outlier), for open-set AUROC. Caller disposes. */
  outlierScore?: tf.Tensor1D;
  /** Scalars worth plotting: loss, number of samples used, skipped updates... */
  stats: Record<string, number>;
}

export interface MethodContext {
  seed: number;
  /** Picks per-dataset defaults (learning rates, thresholds) from ../shared/docs/methods.md. */
  dataset: 'cifar10' | 'cifar100' | 'imagenet' | 'camvid';
  /** Clean source images (EATA's Fisher information); only methods that need it ask. */
  sourceData?: SourceDataProvider;
}

/**
 * What a method keeps besides the model's values (optimiser step and slots, counters), so a
 * guard can roll a bad step back and a saved state restores exactly. Tensors are copies
 * owned by whoever holds the record.
 */
export interface MethodState {
  counters: Record<string, number>;
  tensors: Record<string, (tf.Tensor | null)[]>;
  /**
   * Small lists of numbers the method keeps on the host (a memory bank's labels), kept off the
   * device so that importing reads nothing back from it (a synchronous read in the worker would
   * lose a WebGPU device).
   */
  lists?: Record<string, number[]>;
  /**
   * Slots holding one entry per adapted variable (optimiser moments), whose count and shapes an
   * import checks against the running method; other slots (memory banks) vary in length and the
   * method's importState() checks them. Absent: every slot is per variable.
   */
  perVariableSlots?: string[];
}

export interface TTAMethod {
  readonly name: string;
  /** Which parameters the method changes. */
  readonly adapts: ParamSetName | 'norm-stats' | 'none';
  /** Predict on the batch (RGB in [0, 1], NHWC) and adapt on it, online. */
  step(images: tf.Tensor4D): Promise<StepResult>;
  /** Back to the source model and a fresh optimiser / memory. */
  reset(): void;
  /** Counters and hyper-parameters in effect. */
  state(): Record<string, unknown>;
  /** Optional: copies of the method's own state (see MethodState); without it only model values roll back. */
  exportState?(): MethodState;
  /** Optional: write back a state from exportState() of the same method on the same model (copied, not taken). */
  importState?(state: MethodState): void;
  dispose(): void;
}

export type MethodFactory = (
  model: AdaptableModel,
  ctx: MethodContext,
  overrides?: Record<string, unknown>,
) => Promise<TTAMethod> | TTAMethod;
