/**
 * LAME (Boudiaf et al. 2022): no parameter update; the model's probabilities are adjusted by
 * Laplacian-regularised maximum likelihood over the batch's L2-normalised penultimate features.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { checkImages, requireClassifier } from './common.ts';
import { resolveOptions } from './options.ts';
import { affinity, laplacianOptimize, type AffinityKind } from './shared/laplacian.ts';
import { withStepTensors } from './shared/tensors.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function lameDefaults(_ctx: MethodContext) {
  return { affinity: 'rbf', knn: 5, forceSymmetry: false, lambda: 1, maxSteps: 100 };
}

export function createLame(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  requireClassifier('lame', model);
  const o = resolveOptions('lame', lameDefaults(ctx), overrides);
  if (!['rbf', 'knn', 'linear'].includes(o.affinity)) throw new Error(`lame: affinity must be rbf, knn or linear, got '${o.affinity}'`);
  model.setNormMode({ kind: 'running' });
  let steps = 0;
  let lastIterations = 0;
  return {
    name: 'lame',
    adapts: 'none',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('lame', images, model);
      return withStepTensors(async ({ own, ownAll }) => {
        const { logits, features } = model.forward(images, { features: true });
        own(logits);
        if (!features) throw new Error(`lame: model '${model.info.name}' returned no penultimate features`);
        own(features);
        const [unary, kernel] = ownAll(
          tf.tidy(() => {
            const normed = tf.div(features, tf.maximum(tf.norm(features, 2, 1, true), 1e-12)) as tf.Tensor2D;
            return [tf.neg(tf.log(tf.add(tf.softmax(logits), 1e-10))) as tf.Tensor2D, affinity(normed, o.affinity as AffinityKind, o.knn, o.forceSymmetry)];
          }),
        );
        const r = await laplacianOptimize(unary!, kernel!, o.lambda, o.maxSteps);
        steps++;
        lastIterations = r.iterations;
        return { probs: r.probs, stats: { iterations: r.iterations, energy: r.energy } };
      });
    },
    reset() {
      steps = 0;
    },
    state: () => ({ steps, lastIterations, ...o }),
    dispose() {},
  };
}
