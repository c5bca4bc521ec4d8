/**
 * Entropy and soft cross-entropy over the last axis, so classification logits [N, C] and
 * segmentation logits [N, H, W, C] share one implementation (per-sample or per-pixel values).
 */
import * as tf from '@tensorflow/tfjs';
import { hasFusedEntropy, softmaxEntropyFused } from '../../kernels/index.ts';

/** Shannon entropy of softmax(logits): -sum softmax * log_softmax (Tent's softmax_entropy). */
export function softmaxEntropy(logits: tf.Tensor): tf.Tensor {
  // One fused kernel (and one for its gradient) where registered: src/kernels/entropy.ts.
  if (hasFusedEntropy(tf.getBackend())) return softmaxEntropyFused(logits);
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
  });
}

/** -sum target * log_softmax(student): CoTTA / RoTTA consistency loss, target = probabilities. */
export function softCrossEntropy(studentLogits: tf.Tensor, targetProbs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(targetProbs, tf.logSoftmax(studentLogits, -1)), -1)));
}

/** Entropy of given probabilities with the official code's log(p + eps) guard. */
export function probsEntropy(probs: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(probs, tf.log(tf.add(probs, eps))), -1)));
}

/** Mean cross-entropy against hard labels (Fisher information of EATA). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1))) as tf.Scalar;
  });
}
