/**
 * Sharpness-aware minimisation (Foret et al.; the implementation SAR and STAMP use):
 * grads g at w; e = rho * g / (||g||_2 + 1e-12) over all parameters together; loss at w + e
 * gives g'; w is put back bit-exactly and the base optimiser steps with g'.
 */
import * as tf from '@tensorflow/tfjs';
import { hasFusedUpdates, samPerturbFused } from '../../kernels/index.ts';
import type { Optimizer } from './optim.ts';
import { cloneValues, disposeAll, lossAndGrads, readScalar, withStepTensors } from './tensors.ts';

export interface SamResult {
  /** Loss at w (first pass) and at w + e (second pass). */
  firstLoss: number;
  secondLoss: number;
}

/** Global L2 norm of a list of tensors, as torch.norm(torch.stack([g.norm() for g in grads])). */
export function globalNorm(ts: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(ts.map((t) => tf.sum(tf.square(t))))) as tf.Scalar);
}

/**
 * One SAM update. `secondLoss` may differ from `firstLoss` (SAR filters the second pass with
 * the first pass's sample selection); both are evaluated with gradients w.r.t. optimizer.vars.
 */
export async function samStep(optimizer: Optimizer, rho: number, firstLoss: () => tf.Scalar, secondLoss: () => tf.Scalar = firstLoss): Promise<SamResult> {
  const vars = optimizer.vars;
  return withStepTensors(async ({ ownAll }) => {
    const first = lossAndGrads(vars, firstLoss);
    ownAll([first.loss, ...first.grads]);
    const old = ownAll(cloneValues(vars));
    let perturbed = true;
    try {
      if (hasFusedUpdates(tf.getBackend())) samPerturbFused(vars, first.grads, rho);
      else
        tf.tidy(() => {
          const scale = tf.div(rho, tf.add(globalNorm(first.grads), 1e-12));
          vars.forEach((v, i) => v.assign(tf.add(v, tf.mul(first.grads[i]!, scale))));
        });
      disposeAll(first.grads);
      const firstValue = await readScalar(first.loss);
      const second = lossAndGrads(vars, secondLoss);
      ownAll([second.loss, ...second.grads]);
      vars.forEach((v, i) => v.assign(old[i]!));
      perturbed = false;
      optimizer.step(second.grads);
      return { firstLoss: firstValue, secondLoss: await readScalar(second.loss) };
    } finally {
      // A failed second pass must not leave the weights at w + e.
      if (perturbed) vars.forEach((v, i) => v.assign(old[i]!));
    }
  });
}
