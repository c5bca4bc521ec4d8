/** Small tensor helpers shared by the methods. */
import * as tf from '@tensorflow/tfjs';

/**
 * fn(x) with a zero gradient w.r.t. x: PyTorch's `.detach()` inside a differentiated function.
 * The ops inside are not taped, so non-differentiable ones (comparisons, argmax) are allowed.
 */
export function noGrad<T extends tf.Tensor>(x: tf.Tensor, fn: (x: tf.Tensor) => T): T {
  return tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: fn(inputs[0] as tf.Tensor),
    gradFunc: () => tf.zerosLike(inputs[0] as tf.Tensor),
  }))(x) as T;
}

export function stopGradient<T extends tf.Tensor>(x: T): T {
  return noGrad(x, (t) => tf.clone(t) as T);
}

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

/**
 * The value of a one-element tensor, read asynchronously, and the tensor disposed. A synchronous
 * read (dataSync) in the runtime worker loses the WebGPU device (docs/demo.md).
 */
export async function readScalar(t: tf.Tensor): Promise<number> {
  try {
    return (await t.data())[0]!;
  } finally {
    t.dispose();
  }
}

export function disposeAll(ts: readonly (tf.Tensor | undefined | null)[]): void {
  for (const t of ts) t?.dispose();
}

/** Registers a step's intermediates; `release` hands one to the caller instead. */
export interface StepTensors {
  own<T extends tf.Tensor>(t: T): T;
  ownAll<T extends tf.Tensor>(ts: T[]): T[];
  release<T extends tf.Tensor>(t: T): T;
}

/**
 * fn with its own tensors disposed on every exit, a throw half-way included (a step that fails
 * must not leak its forward outputs, gradients or views). Tensors it `release`s are returned to
 * the caller; persistent state (memories, teachers, optimiser slots) is never registered.
 */
export async function withStepTensors<T>(fn: (s: StepTensors) => Promise<T>): Promise<T> {
  const owned = new Set<tf.Tensor>();
  const own = <U extends tf.Tensor>(t: U): U => {
    owned.add(t);
    return t;
  };
  try {
    return await fn({
      own,
      ownAll: (ts) => ts.map(own),
      release: (t) => {
        owned.delete(t);
        return t;
      },
    });
  } finally {
    for (const t of owned) t.dispose();
  }
}
