/**
 * EATA / ETA (Niu et al. 2022): Tent's parameters and loss, restricted to reliable
 * (entropy < E0 = coef * ln C) and non-redundant (|cos(p, m)| < d_margin against a moving
 * average m of selected predictions) samples, each weighted by 1 / exp(H - E0), plus (EATA)
 * the Fisher-weighted L2 anchor alpha * sum F (theta - theta0)^2 from clean source images.
 * No update when no sample is selected.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, probsOf, requireClassifier } from './common.ts';
import { adam, buildOptimizer, isLargeScale, resolveOptions, sgd } from './options.ts';
import { softmaxEntropy } from './shared/entropy.ts';
import { computeFisher, type Fisher } from './shared/fisher.ts';
import { lossAndGrads, noGrad, readScalar, withStepTensors } from './shared/tensors.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function eataDefaults(ctx: MethodContext, withFisher: boolean) {
  const large = isLargeScale(ctx);
  return {
    ...(large ? sgd(0.00025, 0.9) : adam(1e-3)),
    eMarginCoef: 0.4,
    dMargin: large ? 0.05 : 0.4,
    fisherAlpha: withFisher ? (large ? 2000 : 1) : 0,
    fisherSize: withFisher ? 2000 : 0,
    fisherBatchSize: large ? 64 : 200,
  };
}

/** Per-sample selection masks and weights of one batch, all without gradient. */
export interface EataSelection {
  reliable: tf.Tensor1D;
  selected: tf.Tensor1D;
  weights: tf.Tensor1D;
}

/** Filters of EATA on entropies [N] and probabilities [N, C] given the moving average m [C] (or none yet). */
export function eataSelect(entropy: tf.Tensor1D, probs: tf.Tensor2D, m: tf.Tensor1D | undefined, eMargin: number, dMargin: number): EataSelection {
  return tf.tidy(() => {
    const reliable = tf.cast(tf.less(entropy, eMargin), 'float32') as tf.Tensor1D;
    let selected = reliable;
    if (m) {
      const cos = tf.div(tf.sum(tf.mul(probs, m), 1), tf.mul(tf.maximum(tf.norm(probs, 2, 1), 1e-8), tf.maximum(tf.norm(m), 1e-8)));
      selected = tf.mul(reliable, tf.cast(tf.less(tf.abs(cos), dMargin), 'float32'));
    }
    const weights = tf.exp(tf.neg(tf.sub(entropy, eMargin))) as tf.Tensor1D;
    return { reliable, selected, weights };
  });
}

export function createEata(variant: 'eata' | 'eta') {
  return async (model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): Promise<TTAMethod> => {
    requireClassifier(variant, model);
    const o = resolveOptions(variant, eataDefaults(ctx, variant === 'eata'), overrides);
    const source = new SourceCopy(model);
    model.setNormMode({ kind: 'batch' });
    const vars = model.parameters('norm-affine');
    if (vars.length === 0) throw new Error(`${variant}: model '${model.info.name}' has no normalisation layers to adapt`);
    let fisher: Fisher | undefined;
    if (o.fisherAlpha > 0) {
      if (!ctx.sourceData) throw new Error(`${variant}: fisherAlpha ${o.fisherAlpha} needs ctx.sourceData (clean source images) to compute the Fisher information`);
      fisher = await computeFisher(model, vars, ctx.sourceData, o.fisherBatchSize, o.fisherSize);
    }
    const optimizer = buildOptimizer(vars, o);
    const eMargin = o.eMarginCoef * Math.log(model.info.numClasses);
    let m: tf.Tensor1D | undefined;
    let updates = 0;
    let reliableTotal = 0;
    let selectedTotal = 0;
    return {
      name: variant,
      adapts: 'norm-affine',
      async step(images: tf.Tensor4D): Promise<StepResult> {
        checkImages(variant, images, model);
        return withStepTensors(async ({ own, ownAll, release }) => {
          let probs!: tf.Tensor2D;
          let sel!: EataSelection;
          const { loss, grads } = lossAndGrads(vars, () => {
            const logits = model.forward(images).logits as tf.Tensor2D;
            probs = own(tf.keep(probsOf(logits) as tf.Tensor2D));
            const entropy = softmaxEntropy(logits) as tf.Tensor1D;
            const stacked = noGrad(entropy, (h) => {
              const f = eataSelect(h as tf.Tensor1D, probs, m, eMargin, o.dMargin);
              return tf.stack([f.reliable, f.selected, f.weights]);
            });
            const [reliable, selected, weights] = tf.unstack(stacked) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
            sel = { reliable: own(tf.keep(reliable)), selected: own(tf.keep(selected)), weights: own(tf.keep(weights)) };
            const count = tf.maximum(tf.sum(selected), 1);
            let total = tf.div(tf.sum(tf.mul(tf.mul(entropy, weights), selected)), count);
            if (fisher) {
              const ewc = tf.addN(vars.map((v, i) => tf.sum(tf.mul(fisher!.fisher[i]!, tf.square(tf.sub(v, fisher!.anchor[i]!))))));
              total = tf.add(total, tf.mul(o.fisherAlpha, ewc));
            }
            return total as tf.Scalar;
          });
          ownAll([loss, ...grads]);
          const [nReliable, nSelected] = await Promise.all([readScalar(tf.sum(sel.reliable)), readScalar(tf.sum(sel.selected))]);
          if (nSelected > 0) {
            optimizer.step(grads);
            updates++;
            const next = tf.tidy(() => {
              const mean = tf.div(tf.sum(tf.mul(probs, tf.expandDims(sel.selected, 1)), 0), nSelected) as tf.Tensor1D;
              return m ? (tf.add(tf.mul(m, 0.9), tf.mul(mean, 0.1)) as tf.Tensor1D) : mean;
            });
            m?.dispose();
            m = next;
          }
          reliableTotal += nReliable;
          selectedTotal += nSelected;
          const lossValue = await readScalar(loss);
          return { probs: release(probs), stats: { loss: lossValue, reliable: nReliable, selected: nSelected } };
        });
      },
      reset() {
        source.restore();
        optimizer.reset();
        m?.dispose();
        m = undefined;
        updates = reliableTotal = selectedTotal = 0;
      },
      state: () => ({ updates, reliableTotal, selectedTotal, eMargin, fisherBatches: fisher?.batches ?? 0, ...o }),
      exportState: () => exportWithOptimizer(optimizer, { updates, reliableTotal, selectedTotal }, { movingAverage: [m ? tf.clone(m) : null] }),
      importState(state) {
        importOptimizer(optimizer, state);
        const saved = state.tensors.movingAverage?.[0];
        m?.dispose();
        m = saved ? (tf.keep(tf.clone(saved)) as tf.Tensor1D) : undefined;
        ({ updates = 0, reliableTotal = 0, selectedTotal = 0 } = state.counters);
      },
      dispose() {
        source.restore();
        source.dispose();
        optimizer.dispose();
        fisher?.dispose();
        m?.dispose();
        model.setNormMode({ kind: 'running' });
      },
    };
  };
}
