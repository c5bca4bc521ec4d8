/**
 * Tent (Wang et al. 2021): batch-statistics normalisation, norm affine parameters trained to
 * minimise the mean softmax entropy, one step per batch; the prediction comes from the same
 * forward pass (before the update). Per-pixel entropy for segmentation logits.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, probsOf } from './common.ts';
import { adam, buildOptimizer, isLargeScale, resolveOptions, sgd } from './options.ts';
import { softmaxEntropy } from './shared/entropy.ts';
import { disposeAll, lossAndGrads, readScalar, withStepTensors } from './shared/tensors.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function tentDefaults(ctx: MethodContext) {
  return { ...(isLargeScale(ctx) ? sgd(0.00025, 0.9) : adam(1e-3)), steps: 1 };
}

export function createTent(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  const o = resolveOptions('tent', tentDefaults(ctx), overrides);
  const source = new SourceCopy(model);
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine');
  if (vars.length === 0) throw new Error(`tent: model '${model.info.name}' has no normalisation layers to adapt`);
  const optimizer = buildOptimizer(vars, o);
  let updates = 0;
  return {
    name: 'tent',
    adapts: 'norm-affine',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('tent', images, model);
      return withStepTensors(async ({ own, ownAll, release }) => {
        let probs: tf.Tensor | undefined;
        let lossValue = 0;
        for (let s = 0; s < o.steps; s++) {
          const { loss, grads } = lossAndGrads(vars, () => {
            const logits = model.forward(images).logits;
            // Several steps return the last pass's prediction, as the official loop.
            probs?.dispose();
            probs = own(tf.keep(probsOf(logits)));
            return tf.mean(softmaxEntropy(logits)) as tf.Scalar;
          });
          ownAll([loss, ...grads]);
          optimizer.step(grads);
          lossValue = await readScalar(loss);
          disposeAll(grads);
          updates++;
        }
        return { probs: release(probs!), stats: { loss: lossValue } };
      });
    },
    reset() {
      source.restore();
      optimizer.reset();
      updates = 0;
    },
    state: () => ({ updates, ...o }),
    exportState: () => exportWithOptimizer(optimizer, { updates }),
    importState(state) {
      importOptimizer(optimizer, state);
      updates = state.counters.updates ?? 0;
    },
    dispose() {
      source.restore();
      source.dispose();
      optimizer.dispose();
      model.setNormMode({ kind: 'running' });
    },
  };
}
