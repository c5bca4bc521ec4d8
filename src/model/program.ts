/**
 * What an importer (ONNX, TF.js layers) hands to GraphModel: initial parameter values, norm
 * layer descriptions and a function that runs the graph with the model's variables.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HostTensor } from './host.ts';
import type { BatchNormLayer } from './norm.ts';

export interface NormSpec {
  /** Node / layer name in the source graph. */
  name: string;
  channels: number;
  epsilon: number;
  /** Names of the variables holding scale, shift and the running statistics. */
  weight: string;
  bias: string;
  mean: string;
  variance: string;
}

export interface ProgramEnv {
  variable(name: string): tf.Variable;
  norm(name: string): BatchNormLayer;
  /** Stage detection: called for every norm layer run, with its activation's height and width. */
  onNorm?(name: string, hw: readonly [number, number]): void;
}

export interface ProgramOutput {
  /** Model output; 4-D outputs are NHWC. */
  out: tf.Tensor;
  /** Input of the final classifier layer, [N, D] (when asked and the model has one). */
  features?: tf.Tensor2D;
}

export interface Program {
  /** Trainable float parameters (initial values), in graph order. */
  readonly params: ReadonlyMap<string, HostTensor>;
  /** Norm running statistics (initial values): variables, but not parameters. */
  readonly stats: ReadonlyMap<string, HostTensor>;
  readonly norms: readonly NormSpec[];
  /** Input shape [H, W, C] the graph declares, if it declares one. */
  readonly declaredInputShape?: readonly [number, number, number];
  /** Run on NHWC input (already preprocessed). */
  run(x: tf.Tensor4D, env: ProgramEnv, wantFeatures: boolean): ProgramOutput;
}
