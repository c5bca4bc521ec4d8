/** Node test helpers: tfjs on the cpu backend (float32, deterministic), value comparisons, leak checks. */
import * as tf from '@tensorflow/tfjs';

export async function useCpuBackend(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs `step` `times` times after one warm-up call and returns the growth of live tensors. */
export async function tensorGrowth(step: () => Promise<void>, times = 3): Promise<number> {
  await step();
  const start = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await step();
  return tf.memory().numTensors - start;
}
