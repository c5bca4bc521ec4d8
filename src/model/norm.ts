/**
 * BatchNorm from elementwise ops (tf.batchNorm's gradient is slow on wasm: 0.57 s of a 3.2 s
 * Tent step of a CIFAR ResNet-20 at batch 64), with the statistics source chosen by NormMode.
 * Channels are the last axis (NHWC or [N, C]).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, channelAffine, hasFusedBatchNorm } from '../kernels/index.ts';
import type { NormLayer, NormMode } from './types.ts';

export class BatchNormLayer implements NormLayer {
  mode: NormMode = { kind: 'running' };
  stage = 0;

  constructor(
    readonly name: string,
    readonly channels: number,
    readonly epsilon: number,
    readonly weight: tf.Variable,
    readonly bias: tf.Variable,
    readonly runningMean: tf.Variable,
    readonly runningVar: tf.Variable,
  ) {}

  /** Normalise x (channels last). In 'ema' mode this also updates the stored statistics. */
  apply(x: tf.Tensor): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.channels) {
      throw new Error(`BatchNormalization ${this.name}: input has ${x.shape[x.rank - 1]} channels, layer has ${this.channels}`);
    }
    const mode = this.mode;
    if (mode.kind === 'running') {
      // Fold into one scale and shift: two elementwise ops on the activation.
      const scale = tf.mul(this.weight, tf.rsqrt(tf.add(this.runningVar, this.epsilon)));
      const shift = tf.sub(this.bias, tf.mul(this.runningMean, scale));
      if (hasFusedBatchNorm(tf.getBackend())) return channelAffine(x, scale as tf.Tensor1D, shift as tf.Tensor1D);
      return tf.add(tf.mul(x, scale), shift);
    }
    if (mode.kind === 'batch' && hasFusedBatchNorm(tf.getBackend())) {
      return batchNormTrain(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.epsilon).y;
    }
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    // PyTorch normalises with the biased batch variance.
    const { mean: batchMean, variance: batchVar } = tf.moments(x, axes);
    let mean: tf.Tensor = batchMean;
    let variance: tf.Tensor = batchVar;
    if (mode.kind === 'mixed' || mode.kind === 'ema') {
      const a = mode.kind === 'mixed' ? mode.alpha : mode.momentum;
      mean = tf.add(tf.mul(this.runningMean, 1 - a), tf.mul(batchMean, a));
      variance = tf.add(tf.mul(this.runningVar, 1 - a), tf.mul(batchVar, a));
      if (mode.kind === 'ema') {
        // RoTTA's RobustBN: store the mixed statistics (detached: assign is not taped),
        // normalise with them, gradients flowing through the batch part.
        this.runningMean.assign(mean);
        this.runningVar.assign(variance);
      }
    }
    const scale = tf.mul(this.weight, tf.rsqrt(tf.add(variance, this.epsilon)));
    return tf.add(tf.mul(tf.sub(x, mean), scale), this.bias);
  }
}
