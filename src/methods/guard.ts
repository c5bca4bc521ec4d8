/**
 * Guard rails around any TTAMethod, so every method gets them without its own code:
 * - a step whose loss, prediction, parameters, statistics or method state (optimiser slots)
 *   come out NaN/Inf - or that throws - is rolled back to the state before it and counted;
 *   after `maxConsecutiveRollbacks` bad steps in a row the model goes back to the source
 *   (a poisoned state the method cannot export would otherwise fail forever);
 * - collapse detection: when, over a window of recent images, one class takes almost all
 *   predictions (or, optionally, the mean prediction entropy falls very low), the method is
 *   reset to the source model, reported as an event.
 * The checkpoint before each step is a set of tf.clone()s, which share data with the
 * variables (assign() swaps in new data), so it costs no copy.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, ParamSnapshot } from '../model/types.ts';
import { disposeMethodState } from './common.ts';
import type { MethodState, StepResult, TTAMethod } from './types.ts';

export interface CollapseOptions {
  /** Images the window covers; predictions are counted per image, or per pixel for segmentation. */
  windowImages: number;
  /** Collapse when the most frequent predicted class takes at least this share of the window. */
  maxClassShare: number;
  /** Collapse when the window's mean prediction entropy / ln(classes) falls below this (0: off). */
  minNormalizedEntropy: number;
  /** 'reset' goes back to the source model; 'report' only records the event. */
  action: 'reset' | 'report';
}

export interface GuardOptions {
  /** Roll back steps that produce NaN/Inf. */
  nonFinite: boolean;
  maxConsecutiveRollbacks: number;
  collapse: CollapseOptions | false;
}

export const DEFAULT_COLLAPSE: CollapseOptions = { windowImages: 2000, maxClassShare: 0.95, minNormalizedEntropy: 0, action: 'reset' };
export const DEFAULT_GUARD: GuardOptions = { nonFinite: true, maxConsecutiveRollbacks: 5, collapse: DEFAULT_COLLAPSE };

export interface GuardEvent {
  kind: 'rollback' | 'reset' | 'collapse';
  /** 1-based index of the step (every call to step() counts). */
  step: number;
  reason: string;
}

export interface GuardCounters {
  steps: number;
  rollbacks: number;
  resets: number;
  collapses: number;
}

export interface GuardedMethod extends TTAMethod {
  readonly inner: TTAMethod;
  counters(): GuardCounters;
  /** The most recent events (at most EVENTS_KEPT), oldest first. */
  events(): GuardEvent[];
}

const EVENTS_KEPT = 100;

/** Options as callers give them: any subset, collapse settings merged over the defaults. */
export type GuardSettings = Partial<Omit<GuardOptions, 'collapse'>> & { collapse?: Partial<CollapseOptions> | false };

/** Fill in and check options; bad values fail here, not deep in a run. */
export function resolveGuardOptions(options: GuardSettings = {}): GuardOptions {
  const o: GuardOptions = {
    nonFinite: options.nonFinite ?? DEFAULT_GUARD.nonFinite,
    maxConsecutiveRollbacks: options.maxConsecutiveRollbacks ?? DEFAULT_GUARD.maxConsecutiveRollbacks,
    collapse: options.collapse === false ? false : { ...DEFAULT_COLLAPSE, ...options.collapse },
  };
  if (!Number.isInteger(o.maxConsecutiveRollbacks) || o.maxConsecutiveRollbacks < 1) {
    throw new Error(`guard: maxConsecutiveRollbacks must be an integer >= 1, got ${o.maxConsecutiveRollbacks}`);
  }
  if (o.collapse) {
    const c = o.collapse;
    if (!Number.isInteger(c.windowImages) || c.windowImages < 1) throw new Error(`guard: collapse.windowImages must be an integer >= 1, got ${c.windowImages}`);
    if (!(c.maxClassShare > 0 && c.maxClassShare <= 1)) throw new Error(`guard: collapse.maxClassShare must be in (0, 1], got ${c.maxClassShare}`);
    if (!(c.minNormalizedEntropy >= 0 && c.minNormalizedEntropy < 1)) throw new Error(`guard: collapse.minNormalizedEntropy must be in [0, 1), got ${c.minNormalizedEntropy}`);
    if (c.action !== 'reset' && c.action !== 'report') throw new Error(`guard: collapse.action must be 'reset' or 'report', got '${String(c.action)}'`);
  }
  return o;
}

interface Checkpoint {
  model: ParamSnapshot;
  method: MethodState | undefined;
}

/** One window entry: an image batch's predicted-class counts and its summed per-image entropy. */
interface WindowEntry {
  images: number;
  counts: Float32Array;
  entropySum: number;
}

export function guardMethod(
  method: TTAMethod,
  model: AdaptableModel,
  options: GuardSettings = {},
  onEvent?: (event: GuardEvent) => void,
): GuardedMethod {
  const o = resolveGuardOptions(options);
  const numClasses = model.info.numClasses;
  const stateVars = [...model.params.values(), ...model.norms.flatMap((n) => [n.runningMean, n.runningVar])];
  const counters: GuardCounters = { steps: 0, rollbacks: 0, resets: 0, collapses: 0 };
  const events: GuardEvent[] = [];
  let consecutiveRollbacks = 0;
  let window: WindowEntry[] = [];

  const record = (kind: GuardEvent['kind'], reason: string) => {
    const e = { kind, step: counters.steps, reason };
    events.push(e);
    if (events.length > EVENTS_KEPT) events.shift();
    onEvent?.(e);
  };
  const checkpoint = (): Checkpoint => ({ model: model.snapshot(), method: method.exportState?.() });
  const rollBackTo = (c: Checkpoint) => {
    model.restore(c.model);
    if (c.method) method.importState!(c.method);
  };
  const resetToSource = (kind: 'reset' | 'collapse', reason: string) => {
    method.reset();
    window = [];
    consecutiveRollbacks = 0;
    counters.resets++;
    record(kind, reason);
  };

  /** Which of the step's outputs and the state after it are non-finite (names), and the collapse figures. */
  async function inspect(out: StepResult): Promise<{ bad: string[]; counts: Float32Array; entropySum: number; images: number }> {
    const after = o.nonFinite ? method.exportState?.() : undefined;
    const checked: [string, tf.Tensor[]][] = o.nonFinite
      ? [['prediction', [out.probs]], ['parameters or statistics', stateVars], ['method state', after ? Object.values(after.tensors).flat().filter((t): t is tf.Tensor => t !== null) : []]]
      : [];
    const summary = tf.tidy(() => {
      // x * 0 is 0 for finite x and NaN for NaN or +-Inf, so one sum flags a whole group.
      const flags = checked.map(([, ts]) => (ts.length ? tf.addN(ts.map((t) => tf.sum(tf.mul(t, 0)))) : tf.scalar(0)));
      const probs = tf.reshape(out.probs, [-1, numClasses]);
      const labels = tf.argMax(probs, -1) as tf.Tensor1D;
      const counts = tf.bincount(labels, tf.tensor1d([], 'float32'), numClasses);
      const pixelEntropy = tf.neg(tf.sum(tf.mul(probs, tf.log(tf.maximum(probs, 1e-30))), -1));
      return tf.concat([tf.stack([...flags, tf.sum(pixelEntropy)]), tf.cast(counts, 'float32')]);
    });
    const v = (await summary.data()) as Float32Array;
    summary.dispose();
    disposeMethodState(after);
    const bad = checked.filter((_, i) => !Number.isFinite(v[i]!)).map(([name]) => name);
    if (o.nonFinite && 'loss' in out.stats && !Number.isFinite(out.stats.loss!)) bad.unshift(`loss (${out.stats.loss})`);
    const perImage = out.probs.size / numClasses / out.probs.shape[0];
    return { bad, entropySum: v[checked.length]! / perImage, counts: v.slice(checked.length + 1), images: out.probs.shape[0] };
  }

  function collapseReason(c: CollapseOptions): string | undefined {
    const images = window.reduce((s, e) => s + e.images, 0);
    if (images < c.windowImages) return undefined;
    const counts = new Float64Array(numClasses);
    for (const e of window) e.counts.forEach((n, k) => (counts[k]! += n));
    const total = counts.reduce((s, n) => s + n, 0);
    let top = 0;
    counts.forEach((n, k) => n > counts[top]! && (top = k));
    const share = counts[top]! / total;
    if (share >= c.maxClassShare) return `class ${top} took ${(100 * share).toFixed(1)}% of the last ${images} images' predictions (limit ${100 * c.maxClassShare}%)`;
    const entropy = window.reduce((s, e) => s + e.entropySum, 0) / images / Math.log(numClasses);
    if (entropy < c.minNormalizedEntropy) return `mean prediction entropy fell to ${entropy.toFixed(4)} of ln(${numClasses}) over the last ${images} images (limit ${c.minNormalizedEntropy})`;
    return undefined;
  }

  return {
    inner: method,
    get name() {
      return method.name;
    },
    get adapts() {
      return method.adapts;
    },
    async step(images: tf.Tensor4D): Promise<StepResult> {
      counters.steps++;
      const before = checkpoint();
      try {
        let out: StepResult;
        try {
          out = await method.step(images);
        } catch (err) {
          // A step that throws half way (bad input, backend error) must not leave half an update behind.
          rollBackTo(before);
          throw err;
        }
        const seen = await inspect(out);
        let skipped = 0;
        let reset = 0;
        if (seen.bad.length > 0) {
          rollBackTo(before);
          skipped = 1;
          counters.rollbacks++;
          consecutiveRollbacks++;
          record('rollback', `non-finite ${seen.bad.join(', ')}: update skipped, state rolled back`);
          if (consecutiveRollbacks >= o.maxConsecutiveRollbacks) {
            resetToSource('reset', `${consecutiveRollbacks} bad steps in a row: back to the source model`);
            reset = 1;
          }
        } else {
          consecutiveRollbacks = 0;
          if (o.collapse) {
            window.push({ images: seen.images, counts: seen.counts, entropySum: seen.entropySum });
            let images = window.reduce((s, e) => s + e.images, 0);
            while (window.length > 1 && images - window[0]!.images >= o.collapse.windowImages) images -= window.shift()!.images;
            const reason = collapseReason(o.collapse);
            if (reason) {
              counters.collapses++;
              if (o.collapse.action === 'reset') {
                resetToSource('collapse', `collapse: ${reason}; reset to the source model`);
                reset = 1;
              } else {
                window = [];
                record('collapse', `collapse: ${reason}`);
              }
            }
          }
        }
        return { ...out, stats: { ...out.stats, guardSkipped: skipped, guardReset: reset } };
      } finally {
        before.model.dispose();
        disposeMethodState(before.method);
      }
    },
    reset() {
      method.reset();
      window = [];
      consecutiveRollbacks = 0;
    },
    state: () => ({ ...method.state(), guard: { ...counters, options: o } }),
    ...(method.exportState && method.importState
      ? { exportState: () => method.exportState!(), importState: (s: MethodState) => method.importState!(s) }
      : {}),
    counters: () => ({ ...counters }),
    events: () => events.slice(),
    dispose() {
      method.dispose();
    },
  };
}
