/** Pieces every method module uses: the source copy for reset, predictions, task checks. */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, ParamSnapshot } from '../model/types.ts';
import type { Optimizer } from './shared/optim.ts';
import type { MethodState } from './types.ts';
import type { Rng } from '../util/rng.ts';

/** The model's parameters and statistics as found, for bit-exact resets. */
export class SourceCopy {
  private readonly snap: ParamSnapshot;

  constructor(private readonly model: AdaptableModel) {
    this.snap = model.snapshot();
  }

  restore(): void {
    this.model.restore(this.snap);
  }

  dispose(): void {
    this.snap.dispose();
  }
}

/** Softmax over the class axis (last), for [N, C] and [N, H, W, C] alike. */
export function probsOf(logits: tf.Tensor): tf.Tensor {
  return tf.softmax(logits, -1);
}

export function requireClassifier(method: string, model: AdaptableModel): void {
  if (model.info.task !== 'classification') {
    throw new Error(`${method}: needs a classification model, '${model.info.name}' is a ${model.info.task} model`);
  }
}

/**
 * Shape check. Batches of one image are allowed even for batch-statistics methods: BN then
 * normalises over the image's H x W positions, as PyTorch's train-mode BN does.
 */
export function checkImages(method: string, images: tf.Tensor4D, model: AdaptableModel): void {
  const ec = model.info.inputShape[2];
  if (images.rank !== 4 || images.shape[3] !== ec) {
    throw new Error(`${method}: images must be NHWC with ${ec} channels for model '${model.info.name}', got [${images.shape}]`);
  }
  if (images.shape[0] < 1) throw new Error(`${method}: empty batch`);
}

/** Frees every tensor a MethodState holds (its counters are plain numbers). */
export function disposeMethodState(state: MethodState | undefined): void {
  if (state) for (const list of Object.values(state.tensors)) for (const t of list) t?.dispose();
}

/** A method's optimiser (step and slot copies) plus its own counters, tensors and host lists as a MethodState. */
export function exportWithOptimizer(
  optimizer: Optimizer,
  counters: Record<string, number>,
  tensors: Record<string, (tf.Tensor | null)[]> = {},
  lists?: MethodState['lists'],
): MethodState {
  const s = optimizer.exportState();
  return { counters: { ...counters, optimizerStep: s.step }, tensors: { ...s.slots, ...tensors }, perVariableSlots: Object.keys(s.slots), ...(lists ? { lists } : {}) };
}

/** Writes the optimiser part of a state from exportWithOptimizer back (slots are copied). */
export function importOptimizer(optimizer: Optimizer, state: MethodState): void {
  optimizer.importState({ step: state.counters.optimizerStep ?? 0, slots: state.tensors });
}

/** A random generator's state as method-state counters `<name>Rng0..5`. */
export function rngCounters(name: string, rng: Rng): Record<string, number> {
  return Object.fromEntries(rng.save().map((v, i) => [`${name}Rng${i}`, v]));
}

/** Continue `rng` from counters written by rngCounters (a state without them leaves it as is). */
export function loadRng(counters: Record<string, number>, name: string, rng: Rng): void {
  const s = Array.from({ length: 6 }, (_, i) => counters[`${name}Rng${i}`]);
  if (s.every((v) => v === undefined)) return;
  rng.load(s.map((v) => v ?? NaN));
}
