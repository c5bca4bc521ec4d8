/**
 * Periodic reset (RDumb-style, Press et al. 2023) around any method: every `every` steps the
 * wrapped method goes back to the source model and fresh optimiser / memory state.
 */
import type * as tf from '@tensorflow/tfjs';
import type { StepResult, TTAMethod } from './types.ts';

export function withPeriodicReset(inner: TTAMethod, every: number): TTAMethod {
  if (!Number.isInteger(every) || every < 1) throw new Error(`reset wrapper: 'every' must be a positive integer (steps), got ${every}`);
  let sinceReset = 0;
  let resets = 0;
  return {
    name: `${inner.name}+reset${every}`,
    adapts: inner.adapts,
    async step(images: tf.Tensor4D): Promise<StepResult> {
      if (sinceReset === every) {
        inner.reset();
        sinceReset = 0;
        resets++;
      }
      sinceReset++;
      const r = await inner.step(images);
      return { ...r, stats: { ...r.stats, periodicResets: resets } };
    },
    reset() {
      inner.reset();
      sinceReset = 0;
      resets = 0;
    },
    state: () => ({ ...inner.state(), resetEvery: every, periodicResets: resets }),
    dispose() {
      inner.dispose();
    },
  };
}
