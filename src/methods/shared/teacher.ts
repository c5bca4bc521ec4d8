/** Mean-teacher pieces: EMA of parameters and stochastic restore to the source weights. */
import * as tf from '@tensorflow/tfjs';
import { emaUpdateFused, hasFusedUpdates } from '../../kernels/index.ts';
import type { Rng } from '../../util/rng.ts';
import { readScalar } from './tensors.ts';

/** teacher <- momentum * teacher + (1 - momentum) * student (CoTTA alpha 0.999; RoTTA 1 - nu). */
export function emaUpdate(teacher: readonly tf.Variable[], student: readonly tf.Variable[], momentum: number): void {
  if (teacher.length !== student.length) throw new Error(`emaUpdate: ${teacher.length} teacher vs ${student.length} student variables`);
  // One kernel for all tensors where registered (src/kernels/multi-tensor.ts).
  if (hasFusedUpdates(tf.getBackend())) return emaUpdateFused(teacher, student, momentum);
  tf.tidy(() => {
    teacher.forEach((t, i) => {
      const s = student[i]!;
      if (!tf.util.arraysEqual(t.shape, s.shape)) throw new Error(`emaUpdate: shape [${t.shape}] of '${t.name}' vs [${s.shape}] of '${s.name}'`);
      t.assign(tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum)));
    });
  });
}

/**
 * Each element goes back to its source value with probability p (CoTTA), masks drawn from
 * tfjs's seeded uniform generator with seeds from `rng`. Returns how many elements were reset
 * when `count` is set (an async device read; off in the hot path).
 */
export async function stochasticRestore(vars: readonly tf.Variable[], sources: readonly tf.Tensor[], p: number, rng: Rng, count = false): Promise<number> {
  if (vars.length !== sources.length) throw new Error(`stochasticRestore: ${vars.length} variables vs ${sources.length} source tensors`);
  const restored = tf.tidy(() => {
    const counts: tf.Scalar[] = [];
    vars.forEach((v, i) => {
      const mask = tf.less(tf.randomUniform(v.shape, 0, 1, 'float32', rng.seedForTf()), p);
      v.assign(tf.where(mask, sources[i]!, v));
      if (count) counts.push(tf.sum(tf.cast(mask, 'int32')));
    });
    return count && counts.length ? tf.addN(counts) : undefined;
  });
  if (!restored) return 0;
  return readScalar(restored);
}
