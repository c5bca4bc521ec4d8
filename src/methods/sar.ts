/**
 * SAR (Niu et al. 2023): norm affine parameters outside the last stage, batch statistics;
 * entropy minimisation on reliable samples (H < E0 = coef * ln C) with SAM over SGD; the second
 * (perturbed) pass keeps the first pass's reliable samples that are still reliable. Model
 * recovery: when the EMA (0.9) of the second-pass loss falls below `resetConstant`, parameters
 * and optimiser go back to the source. The prediction is the first pass's.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, probsOf } from './common.ts';
import { buildOptimizer, resolveOptions, sgd } from './options.ts';
import { softmaxEntropy } from './shared/entropy.ts';
import { samStep } from './shared/sam.ts';
import { noGrad, readScalar, withStepTensors } from './shared/tensors.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function sarDefaults(_ctx: MethodContext) {
  return { ...sgd(0.00025, 0.9), rho: 0.05, eMarginCoef: 0.4, resetConstant: 0.2, emaMomentum: 0.9 };
}

/** Mean entropy over the samples (or pixels) a 0/1 mask keeps; 0 with zero gradient when none. */
function maskedMean(entropy: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(entropy, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

export function createSar(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  const o = resolveOptions('sar', sarDefaults(ctx), overrides);
  const source = new SourceCopy(model);
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine-except-last-stage');
  if (vars.length === 0) throw new Error(`sar: model '${model.info.name}' has no normalisation layers outside the last stage`);
  const optimizer = buildOptimizer(vars, o);
  const eMargin = o.eMarginCoef * Math.log(model.info.numClasses);
  let lossEma: number | undefined;
  let updates = 0;
  let resets = 0;
  return {
    name: 'sar',
    adapts: 'norm-affine-except-last-stage',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('sar', images, model);
      return withStepTensors(async ({ own, release }) => {
        let probs!: tf.Tensor;
        let firstMask!: tf.Tensor;
        let secondMask: tf.Tensor | undefined;
        const r = await samStep(
          optimizer,
          o.rho,
          () => {
            const logits = model.forward(images).logits;
            probs = own(tf.keep(probsOf(logits)));
            const entropy = softmaxEntropy(logits);
            firstMask = own(tf.keep(noGrad(entropy, (h) => tf.cast(tf.less(h, eMargin), 'float32'))));
            return maskedMean(entropy, firstMask);
          },
          () => {
            const entropy = softmaxEntropy(model.forward(images).logits);
            const mask = noGrad(entropy, (h) => tf.mul(firstMask, tf.cast(tf.less(h, eMargin), 'float32')));
            secondMask = own(tf.keep(mask));
            return maskedMean(entropy, mask);
          },
        );
        const [reliable, secondCount] = await Promise.all([readScalar(tf.sum(firstMask)), readScalar(tf.sum(secondMask!))]);
        updates++;
        // A NaN loss in the official code (no sample kept) leaves the EMA as it was.
        if (secondCount > 0) lossEma = lossEma === undefined ? r.secondLoss : o.emaMomentum * lossEma + (1 - o.emaMomentum) * r.secondLoss;
        let reset = 0;
        if (lossEma !== undefined && lossEma < o.resetConstant) {
          // As the official code: parameters and optimiser reset, the loss EMA is kept.
          source.restore();
          optimizer.reset();
          resets++;
          reset = 1;
        }
        return { probs: release(probs), stats: { loss: r.firstLoss, reliable, reliableAfterSam: secondCount, lossEma: lossEma ?? NaN, reset } };
      });
    },
    reset() {
      source.restore();
      optimizer.reset();
      lossEma = undefined;
      updates = resets = 0;
    },
    state: () => ({ updates, resets, lossEma, eMargin, ...o }),
    exportState: () => exportWithOptimizer(optimizer, { updates, resets, ...(lossEma === undefined ? {} : { lossEma }) }),
    importState(state) {
      importOptimizer(optimizer, state);
      ({ updates = 0, resets = 0, lossEma } = state.counters);
    },
    dispose() {
      source.restore();
      source.dispose();
      optimizer.dispose();
      model.setNormMode({ kind: 'running' });
    },
  };
}
