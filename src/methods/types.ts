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
  dispose(): void;
}

export type MethodFactory = (
  model: AdaptableModel,
  ctx: MethodContext,
  overrides?: Record<string, unknown>,
) => Promise<TTAMethod> | TTAMethod;
