/**
 * CoTTA (Wang et al. 2022): student (all parameters, batch-statistics normalisation), EMA
 * teacher and frozen anchor (copies of the source). When the anchor's mean max-softmax is
 * below AP, the teacher's target is the softmax of its logits averaged over augmented views,
 * else of its logits on the clean batch. Loss: soft cross-entropy (ImageNet: symmetric).
 * After the update: teacher EMA, then each student weight element returns to its source value
 * with probability p. The prediction returned is the teacher's target.
 * The views are drawn only when needed (the official code always computes them). Each view is
 * normalised with its own batch statistics as in the official code; `viewsPerForward` > 1
 * batches views into one pass, which pools their statistics (faster on small batches).
 * Segmenters get photometric views only, so pixels stay aligned with the clean prediction.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { Rng } from '../util/rng.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, loadRng, probsOf, rngCounters } from './common.ts';
import { adam, buildOptimizer, isLargeScale, resolveOptions, sgd } from './options.ts';
import { augmentViews, COTTA_AUG, type CottaAugConfig } from './shared/augment.ts';
import { softCrossEntropy } from './shared/entropy.ts';
import { disposeAll, lossAndGrads, readScalar, withStepTensors } from './shared/tensors.ts';
import { emaUpdate, stochasticRestore } from './shared/teacher.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function cottaDefaults(ctx: MethodContext) {
  const large = isLargeScale(ctx);
  return {
    ...(large ? sgd(0.01, 0.9, true) : adam(1e-3)),
    teacherMomentum: 0.999,
    restoreProb: large ? 0.001 : 0.01,
    anchorThreshold: large ? 0.1 : ctx.dataset === 'cifar100' ? 0.72 : 0.92,
    views: 32,
    viewsPerForward: 1,
    symmetricLoss: large,
  };
}

const PHOTOMETRIC: CottaAugConfig = { ...COTTA_AUG, rotateDeg: 0, translate: 0, scale: [1, 1], hflipP: 0 };

/** Mean of the teacher's logits over `views` augmented copies, `perForward` views per pass. */
export function averagedViewLogits(teacher: AdaptableModel, images: tf.Tensor4D, views: number, perForward: number, aug: CottaAugConfig, rng: Rng): tf.Tensor {
  let sum: tf.Tensor | undefined;
  try {
    for (let done = 0; done < views; done += perForward) {
      const k = Math.min(perForward, views - done);
      const chunkSum = tf.tidy(() => {
        const batch = augmentViews(images, k, aug, rng, true);
        const logits = teacher.forward(batch).logits;
        return tf.sum(tf.reshape(logits, [k, images.shape[0], ...logits.shape.slice(1)]), 0);
      });
      const next = sum ? tf.add(sum, chunkSum) : chunkSum;
      if (sum) disposeAll([sum, chunkSum]);
      sum = next;
    }
    return tf.div(sum!, views);
  } finally {
    sum?.dispose();
  }
}

export function createCotta(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  const o = resolveOptions('cotta', cottaDefaults(ctx), overrides);
  if (!(o.views >= 1 && o.viewsPerForward >= 1)) throw new Error(`cotta: views (${o.views}) and viewsPerForward (${o.viewsPerForward}) must be >= 1`);
  const source = new SourceCopy(model);
  model.setNormMode({ kind: 'batch' });
  const teacher = model.clone();
  const anchor = model.clone();
  const teacherSource = new SourceCopy(teacher);
  const vars = model.parameters('all');
  const teacherVars = teacher.parameters('all');
  const sourceValues = vars.map((v) => tf.clone(v));
  const optimizer = buildOptimizer(vars, o);
  const aug = model.info.task === 'segmentation' ? PHOTOMETRIC : COTTA_AUG;
  let rng = new Rng(ctx.seed).fork('cotta');
  let updates = 0;
  let augmentedSteps = 0;
  return {
    name: 'cotta',
    adapts: 'all',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('cotta', images, model);
      return withStepTensors(async ({ own, ownAll, release }) => {
        const anchorConfidence = await readScalar(tf.tidy(() => tf.mean(tf.max(probsOf(anchor.forward(images).logits), -1))));
        const useViews = anchorConfidence < o.anchorThreshold;
        const teacherLogits = own(useViews ? averagedViewLogits(teacher, images, o.views, o.viewsPerForward, aug, rng) : tf.tidy(() => teacher.forward(images).logits));
        const target = own(probsOf(teacherLogits));
        const { loss, grads } = lossAndGrads(vars, () => {
          const student = model.forward(images).logits;
          const ce = softCrossEntropy(student, target);
          if (!o.symmetricLoss) return tf.mean(ce) as tf.Scalar;
          // Symmetric version (ImageNet): 0.5 CE(teacher -> student) + 0.5 CE(student -> teacher).
          return tf.mean(tf.add(tf.mul(0.5, ce), tf.mul(0.5, softCrossEntropy(teacherLogits, probsOf(student))))) as tf.Scalar;
        });
        ownAll([loss, ...grads]);
        optimizer.step(grads);
        emaUpdate(teacherVars, vars, o.teacherMomentum);
        if (o.restoreProb > 0) await stochasticRestore(vars, sourceValues, o.restoreProb, rng);
        updates++;
        if (useViews) augmentedSteps++;
        const lossValue = await readScalar(loss);
        return { probs: release(target), stats: { loss: lossValue, anchorConfidence, augmented: useViews ? 1 : 0 } };
      });
    },
    reset() {
      source.restore();
      teacherSource.restore();
      optimizer.reset();
      rng = new Rng(ctx.seed).fork('cotta');
      updates = augmentedSteps = 0;
    },
    state: () => ({ updates, augmentedSteps, ...o }),
    /** Optimiser, teacher weights and the position in the random stream. */
    exportState: () => exportWithOptimizer(optimizer, { updates, augmentedSteps, ...rngCounters('cotta', rng) }, { teacher: teacherVars.map((v) => tf.clone(v)) }),
    importState(state) {
      const saved = state.tensors.teacher;
      if (!saved || saved.length !== teacherVars.length) throw new Error(`cotta: state has ${saved?.length ?? 0} teacher tensors, the teacher has ${teacherVars.length}`);
      importOptimizer(optimizer, state);
      teacherVars.forEach((v, i) => v.assign(saved[i]!));
      ({ updates = 0, augmentedSteps = 0 } = state.counters);
      loadRng(state.counters, 'cotta', rng);
    },
    dispose() {
      source.restore();
      source.dispose();
      teacherSource.dispose();
      teacher.dispose();
      anchor.dispose();
      disposeAll(sourceValues);
      optimizer.dispose();
      model.setNormMode({ kind: 'running' });
    },
  };
}
