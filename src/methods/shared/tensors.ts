/** Small tensor helpers shared by the methods. */
import * as tf from '@tensorflow/tfjs';

/** Identity whose gradient is zero: PyTorch's `.detach()` inside a differentiated function. */
export const stopGradient = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

/** Copies of the variables' current values (the caller disposes them). */
export function cloneValues(vars: readonly tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.clone(v));
}

/** Gradients in `vars` order; a variable the loss does not reach gets zeros (as a PyTorch zero grad). */
export function gradsInOrder(vars: readonly tf.Variable[], grads: tf.NamedTensorMap): tf.Tensor[] {
  return vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
}

/** Loss value and gradients w.r.t. `vars`, in `vars` order. The caller disposes both. */
export function lossAndGrads(vars: readonly tf.Variable[], loss: () => tf.Scalar): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const { value, grads } = tf.variableGrads(loss, vars as tf.Variable[]);
  const ordered = gradsInOrder(vars, grads);
  return { loss: value, grads: ordered };
}

/** Number of elements along the last axis and everything before it flattened: [rows, classes]. */
export function flattenToRows(t: tf.Tensor): tf.Tensor2D {
  const c = t.shape[t.shape.length - 1]!;
  return tf.reshape(t, [-1, c]);
}

export function disposeAll(ts: readonly (tf.Tensor | undefined | null)[]): void {
  for (const t of ts) t?.dispose();
}
