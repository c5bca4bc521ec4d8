/**
 * RoTTA (Yuan et al. 2023): robust BN (stored statistics <- (1 - a) stored + a batch, used for
 * normalisation; affine parameters trained), a category-balanced memory of test images ranked by
 * timeliness and uncertainty, and every `updateFrequency` samples one update of the student on
 * strongly augmented memory against the teacher's predictions on the raw memory, weighted by
 * timeliness exp(-age) / (1 + exp(-age)). Teacher = EMA (1 - nu) of the student; it predicts in
 * eval mode (its stored statistics), and its own robust statistics follow the memory batches.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, NormMode } from '../model/types.ts';
import { Rng } from '../util/rng.ts';
import { SourceCopy, checkImages, exportWithOptimizer, importOptimizer, loadRng, probsOf, requireClassifier, rngCounters } from './common.ts';
import { adam, buildOptimizer, resolveOptions } from './options.ts';
import { augmentViews, COTTA_AUG } from './shared/augment.ts';
import { probsEntropy, softCrossEntropy } from './shared/entropy.ts';
import { CstuMemory } from './shared/memory.ts';
import { lossAndGrads, readScalar, withStepTensors } from './shared/tensors.ts';
import { emaUpdate } from './shared/teacher.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export function rottaDefaults(_ctx: MethodContext) {
  return { ...adam(1e-3), memorySize: 64, updateFrequency: 64, nu: 0.001, bnMomentum: 0.05, lambdaT: 1, lambdaU: 1 };
}

/** exp(-a) / (1 + exp(-a)) for ages a already divided by the memory capacity. */
export function timelinessWeights(ages: readonly number[]): number[] {
  return ages.map((a) => Math.exp(-a) / (1 + Math.exp(-a)));
}

export function createRotta(model: AdaptableModel, ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  requireClassifier('rotta', model);
  const o = resolveOptions('rotta', rottaDefaults(ctx), overrides);
  if (!(o.bnMomentum >= 0 && o.bnMomentum <= 1)) throw new Error(`rotta: bnMomentum must be in [0, 1], got ${o.bnMomentum}`);
  if (!(o.updateFrequency >= 1)) throw new Error(`rotta: updateFrequency must be >= 1, got ${o.updateFrequency}`);
  const robust: NormMode = { kind: 'ema', momentum: o.bnMomentum };
  const source = new SourceCopy(model);
  const teacher = model.clone();
  const teacherSource = new SourceCopy(teacher);
  model.setNormMode(robust);
  const vars = model.parameters('norm-affine');
  if (vars.length === 0) throw new Error(`rotta: model '${model.info.name}' has no normalisation layers to adapt`);
  const optimizer = buildOptimizer(vars, o);
  const memory = new CstuMemory({ capacity: o.memorySize, numClasses: model.info.numClasses, lambdaT: o.lambdaT, lambdaU: o.lambdaU });
  let rng = new Rng(ctx.seed).fork('rotta');
  const teacherState = () => [...teacher.parameters('all'), ...teacher.norms.flatMap((n) => [n.runningMean, n.runningVar])];
  let seen = 0;
  let updates = 0;

  async function update(): Promise<number> {
    const { images, ages } = memory.items();
    if (images.length === 0) return NaN;
    return withStepTensors(async ({ own, ownAll }) => {
      const batch = own(tf.stack(images) as tf.Tensor4D);
      const strong = own(augmentViews(batch, 1, COTTA_AUG, rng, true));
      teacher.setNormMode(robust);
      const target = own(tf.tidy(() => probsOf(teacher.forward(batch).logits)));
      const weights = own(tf.tensor1d(timelinessWeights(ages)));
      const { loss, grads } = lossAndGrads(vars, () => tf.mean(tf.mul(softCrossEntropy(model.forward(strong).logits, target), weights)) as tf.Scalar);
      ownAll([loss, ...grads]);
      optimizer.step(grads);
      emaUpdate(teacher.parameters('all'), model.parameters('all'), 1 - o.nu);
      updates++;
      return readScalar(loss);
    });
  }

  return {
    name: 'rotta',
    adapts: 'norm-affine',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('rotta', images, model);
      return withStepTensors(async ({ own, ownAll, release }) => {
        teacher.setNormMode({ kind: 'running' });
        const probs = own(tf.tidy(() => probsOf(teacher.forward(images).logits)));
        const [labelsT, entropyT] = ownAll(tf.tidy(() => [tf.argMax(probs, 1), probsEntropy(probs, 1e-6)]));
        const [labels, entropy] = await Promise.all([labelsT!.data(), entropyT!.data()]);
        const singles = ownAll(tf.unstack(images) as tf.Tensor3D[]);
        let loss = NaN;
        for (const [i, image] of singles.entries()) {
          memory.add(image, labels[i]!, entropy[i]!);
          seen++;
          if (seen % o.updateFrequency === 0) loss = await update();
        }
        // 'loss' only when an update ran (a guard treats a NaN loss as a failed step).
        return { probs: release(probs), stats: { ...(Number.isNaN(loss) ? {} : { loss }), memory: memory.occupancy, updates } };
      });
    },
    reset() {
      source.restore();
      teacherSource.restore();
      optimizer.reset();
      memory.clear();
      rng = new Rng(ctx.seed).fork('rotta');
      seen = updates = 0;
    },
    state: () => ({ seen, updates, memory: memory.occupancy, perClass: memory.perClassCounts(), ...o }),
    /** Optimiser, teacher weights and statistics, memory and the position in the random stream. */
    exportState() {
      const items = memory.exportItems();
      return exportWithOptimizer(
        optimizer,
        { seen, updates, ...rngCounters('rotta', rng) },
        { teacher: teacherState().map((v) => tf.clone(v)), memoryImages: items.images },
        { memoryMeta: items.meta.flat() },
      );
    },
    importState(state) {
      const { teacher: saved, memoryImages = [] } = state.tensors;
      const targets = teacherState();
      if (!saved || saved.length !== targets.length) throw new Error(`rotta: state has ${saved?.length ?? 0} teacher tensors, the teacher has ${targets.length}`);
      const flat = state.lists?.memoryMeta ?? [];
      if (flat.length % 3 !== 0) throw new Error(`rotta: memory metadata has ${flat.length} numbers, not (label, uncertainty, age) triples`);
      const meta = Array.from({ length: flat.length / 3 }, (_, i) => flat.slice(3 * i, 3 * i + 3));
      importOptimizer(optimizer, state);
      targets.forEach((v, i) => v.assign(saved[i]!));
      memory.importItems(memoryImages.filter((t): t is tf.Tensor => t !== null) as tf.Tensor3D[], meta);
      ({ seen = 0, updates = 0 } = state.counters);
      loadRng(state.counters, 'rotta', rng);
    },
    dispose() {
      source.restore();
      source.dispose();
      teacherSource.dispose();
      teacher.dispose();
      optimizer.dispose();
      memory.clear();
      model.setNormMode({ kind: 'running' });
    },
  };
}
