/**
 * LAME (Boudiaf et al. 2022): output-only adjustment. Affinity between L2-normalised features
 * and a bound-optimisation fixed point Y = softmax(log p + lambda W Y), stopped when the
 * relative energy change falls to 1e-8 (fiveai/LAME laplacian_optimization).
 */
import * as tf from '@tensorflow/tfjs';
import { readScalar } from './tensors.ts';

export type AffinityKind = 'rbf' | 'knn' | 'linear';

/** Pairwise Euclidean distances [N, N] of the rows of x. */
function pairwiseDistances(x: tf.Tensor2D): tf.Tensor2D {
  const sq = tf.sum(tf.square(x), 1, true);
  const d2 = tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(x, x, false, true)));
  return tf.sqrt(tf.relu(d2)) as tf.Tensor2D;
}

/**
 * rbf: exp(-d^2 / (2 sigma^2)), sigma = mean distance to the k-th nearest point (self included,
 * as the official code); knn: 1 for the k nearest other points; linear: relu(x x^T).
 */
export function affinity(features: tf.Tensor2D, kind: AffinityKind, knn: number, forceSymmetry: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const n = features.shape[0];
    let w: tf.Tensor2D;
    if (n === 1 && kind !== 'linear') {
      // A batch of one image has no neighbours: no affinity, LAME returns the source prediction.
      w = tf.zeros([1, 1]);
    } else if (kind === 'linear') {
      w = tf.relu(tf.matMul(features, features, false, true)) as tf.Tensor2D;
    } else {
      const dist = pairwiseDistances(features);
      if (kind === 'rbf') {
        const k = Math.min(knn, n);
        const kth = tf.slice(tf.neg(tf.topk(tf.neg(dist), k).values), [0, k - 1], [n, 1]);
        const sigma = tf.mean(kth);
        w = tf.exp(tf.div(tf.neg(tf.square(dist)), tf.mul(2, tf.square(sigma)))) as tf.Tensor2D;
      } else if (kind === 'knn') {
        const k = Math.min(knn + 1, n);
        const idx = tf.slice(tf.topk(tf.neg(dist), k).indices, [0, 1], [n, k - 1]);
        w = tf.minimum(tf.sum(tf.oneHot(idx, n), 1), 1) as tf.Tensor2D;
      } else {
        throw new Error(`LAME: unknown affinity '${kind as string}' (expected rbf, knn or linear)`);
      }
    }
    return forceSymmetry ? tf.mul(0.5, tf.add(w, tf.transpose(w))) : w;
  });
}

export interface LaplacianResult {
  probs: tf.Tensor2D;
  iterations: number;
  energy: number;
}

/** Minimise sum(unary*Y - lambda*(W Y)*Y + Y log Y) by the official fixed-point iteration. */
export async function laplacianOptimize(unary: tf.Tensor2D, kernel: tf.Tensor2D, lambda = 1, maxSteps = 100): Promise<LaplacianResult> {
  let y = tf.tidy(() => tf.softmax(tf.neg(unary)) as tf.Tensor2D);
  let oldE = Infinity;
  let energy = NaN;
  let iterations = 0;
  try {
    for (let i = 0; i < maxSteps; i++) {
      const [next, e] = tf.tidy(() => {
        const pairwise = tf.mul(lambda, tf.matMul(kernel, y));
        const ny = tf.softmax(tf.add(tf.neg(unary), pairwise)) as tf.Tensor2D;
        const energyT = tf.sum(tf.addN([tf.mul(unary, ny), tf.mul(-lambda, tf.mul(pairwise, ny)), tf.mul(ny, tf.log(tf.maximum(ny, 1e-20)))]));
        return [ny, energyT] as const;
      });
      y.dispose();
      y = next;
      energy = await readScalar(e);
      iterations = i + 1;
      if (i > 1 && Math.abs(energy - oldE) <= 1e-8 * Math.abs(oldE)) break;
      oldE = energy;
    }
  } catch (err) {
    // A failed read (lost device) must not leak the current estimate.
    y.dispose();
    throw err;
  }
  return { probs: y, iterations, energy };
}
