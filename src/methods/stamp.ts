/**
 * STAMP (Yu et al. 2024): norm affine parameters outside the last stage, batch statistics.
 * Each batch is predicted as the mean softmax over the original and `augViews` augmented views
 * (one pass per view, each with its own batch statistics); samples whose averaged entropy is
 * below alpha * ln C (and, except on ImageNet, whose argmax agrees with a frozen BN-adapted
 * source copy) enter a class-balanced FIFO memory labelled by the original view's argmax. Then
 * one SAM step over SGD on the whole memory with self-weighted entropy
 * w_i = capacity * exp(-H_i) / sum_j exp(-H_j) (not detached, as the official code), and a
 * cosine-annealed learning rate. Outlier score = entropy of the averaged prediction.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { Rng } from '../util/rng.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, loadRng, probsOf, requireClassifier, rngCounters } from './common.ts';
import { buildOptimizer, isLargeScale, resolveOptions, sgd } from './options.ts';
import { augmentViews, COTTA_AUG, CROP_FLIP_AUG } from './shared/augment.ts';
import { probsEntropy, softmaxEntropy } from './shared/entropy.ts';
import { ClassBalancedFifo } from './shared/memory.ts';
import { cosineLr } from './shared/optim.ts';
import { samStep } from './shared/sam.ts';
import { withStepTensors } from './shared/tensors.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function stampDefaults(ctx: MethodContext) {
  const large = isLargeScale(ctx);
  const lr = large ? 0.01 : ctx.dataset === 'cifar100' ? 0.05 : 0.1;
  const alpha = large ? 0.8 : ctx.dataset === 'cifar100' ? 0.9 : 0.25;
  return {
    ...sgd(lr, 0),
    alpha,
    rho: 0.05,
    memorySize: 64,
    augViews: 15,
    tMax: large ? 750 : 150,
    consistencyFilter: !large,
    augmentation: ctx.dataset === 'cifar10' ? 'cotta' : 'crop-flip',
  };
}

/** Self-weighted entropy weights: scale * exp(-H_i) / sum_j exp(-H_j). */
export function stampWeights(entropy: tf.Tensor1D, scale: number): tf.Tensor1D {
  return tf.tidy(() => {
    const inv = tf.exp(tf.neg(entropy));
    return tf.mul(tf.div(inv, tf.sum(inv)), scale) as tf.Tensor1D;
  });
}

export function createStamp(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  requireClassifier('stamp', model);
  const o = resolveOptions('stamp', stampDefaults(ctx), overrides);
  if (o.augmentation !== 'cotta' && o.augmentation !== 'crop-flip') throw new Error(`stamp: augmentation must be 'cotta' or 'crop-flip', got '${o.augmentation}'`);
  const aug = o.augmentation === 'cotta' ? COTTA_AUG : CROP_FLIP_AUG;
  const source = new SourceCopy(model);
  model.setNormMode({ kind: 'batch' });
  const normModel = model.clone();
  const vars = model.parameters('norm-affine-except-last-stage');
  if (vars.length === 0) throw new Error(`stamp: model '${model.info.name}' has no normalisation layers outside the last stage`);
  const optimizer = buildOptimizer(vars, o);
  const margin = o.alpha * Math.log(model.info.numClasses);
  let rng = new Rng(ctx.seed).fork('stamp');
  let memoryRng = rng.fork('memory');
  let memory = new ClassBalancedFifo(o.memorySize, model.info.numClasses, memoryRng);
  let updates = 0;

  const memoryLoss = (data: tf.Tensor4D) => () => {
    const entropy = softmaxEntropy(model.forward(data).logits) as tf.Tensor1D;
    return tf.mean(tf.mul(entropy, stampWeights(entropy, o.memorySize))) as tf.Scalar;
  };

  return {
    name: 'stamp',
    adapts: 'norm-affine-except-last-stage',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('stamp', images, model);
      return withStepTensors(async ({ own, ownAll, release }) => {
        const n = images.shape[0];
        const originLogits = own(tf.tidy(() => model.forward(images).logits));
        let probSum = own(probsOf(originLogits));
        for (let v = 0; v < o.augViews; v++) {
          const next = own(tf.tidy(() => tf.add(probSum, probsOf(model.forward(augmentViews(images, 1, aug, rng, false)).logits))));
          probSum.dispose();
          probSum = next;
        }
        const probs = own(tf.div(probSum, o.augViews + 1) as tf.Tensor2D);
        const entropy = own(probsEntropy(probs, 1e-5) as tf.Tensor1D);
        const [labelsT, agreeT] = ownAll(
          tf.tidy(() => {
            const l = tf.argMax(originLogits, 1);
            return [l, o.consistencyFilter ? tf.equal(l, tf.argMax(normModel.forward(images).logits, 1)) : tf.onesLike(l)];
          }),
        );
        const [labels, entropies, agrees] = await Promise.all([labelsT!.array() as Promise<number[]>, entropy.array() as Promise<number[]>, agreeT!.array() as Promise<number[]>]);
        const keep = labels.flatMap((_, i) => (agrees[i] && entropies[i]! < margin ? [i] : []));
        const singles = ownAll(tf.unstack(images) as tf.Tensor3D[]);
        memory.append(keep.map((i) => singles[i]!), keep.map((i) => labels[i]!));
        let loss = NaN;
        if (memory.size > 0) {
          const data = own(tf.stack(memory.read()) as tf.Tensor4D);
          loss = (await samStep(optimizer, o.rho, memoryLoss(data))).firstLoss;
          updates++;
          optimizer.lr = cosineLr(o.lr, updates, o.tMax);
        }
        // 'loss' only when an update ran (a guard treats a NaN loss as a failed step).
        return { probs: release(probs), outlierScore: release(entropy), stats: { ...(Number.isNaN(loss) ? {} : { loss }), admitted: keep.length, memory: memory.size, lr: optimizer.lr, batch: n } };
      });
    },
    reset() {
      source.restore();
      optimizer.reset();
      optimizer.lr = o.lr;
      memory.clear();
      rng = new Rng(ctx.seed).fork('stamp');
      memoryRng = rng.fork('memory');
      memory = new ClassBalancedFifo(o.memorySize, model.info.numClasses, memoryRng);
      updates = 0;
    },
    state: () => ({ updates, memory: memory.size, perClass: memory.perClassCounts(), margin, ...o }),
    /** Optimiser, schedule position, memory and the positions in the random streams. */
    exportState() {
      const items = memory.exportItems();
      const counts = Object.fromEntries(items.counts.map((c, i) => [`classCount${i}`, c]));
      return exportWithOptimizer(
        optimizer,
        { updates, memoryTotal: items.total, ...counts, ...rngCounters('stamp', rng), ...rngCounters('stampMemory', memoryRng) },
        { memoryImages: items.images },
        { memoryLabels: items.labels },
      );
    },
    importState(state) {
      importOptimizer(optimizer, state);
      const labels = state.lists?.memoryLabels ?? [];
      const counts = Array.from({ length: model.info.numClasses }, (_, i) => state.counters[`classCount${i}`] ?? 0);
      const images = (state.tensors.memoryImages ?? []).filter((t): t is tf.Tensor => t !== null) as tf.Tensor3D[];
      memory.importItems(images, labels, counts, state.counters.memoryTotal ?? images.length);
      updates = state.counters.updates ?? 0;
      loadRng(state.counters, 'stamp', rng);
      loadRng(state.counters, 'stampMemory', memoryRng);
      optimizer.lr = updates > 0 ? cosineLr(o.lr, updates, o.tMax) : o.lr;
    },
    dispose() {
      source.restore();
      source.dispose();
      normModel.dispose();
      optimizer.dispose();
      memory.clear();
      model.setNormMode({ kind: 'running' });
    },
  };
}
