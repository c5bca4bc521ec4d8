/**
 * Multi-tensor parameter updates of the mean-teacher and SAM methods as single kernels:
 *   EMA teacher update   t <- m * t + (1 - m) * s             (one kernel for all tensors on
 *                                                              wasm/cpu, one dispatch each on webgpu)
 *   SAM perturbation     w <- w + rho * g / (||g||_2 + 1e-12)  (global norm over all tensors)
 *   stochastic restore   w <- u < p ? w0 : w, u from a counter-based hash of (seed, index),
 *                        so no mask is generated on the CPU and uploaded per step.
 * The hash is the same integer arithmetic in JS and WGSL: both backends draw the same masks.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKENDS, hostAccess } from './host.ts';

export const EMA_UPDATE = 'WebttaEmaUpdate';
export const SAM_PERTURB = 'WebttaSamPerturb';
export const STOCHASTIC_RESTORE = 'WebttaStochasticRestore';
/** w + g * scale[0] (webgpu's SAM perturbation after a stock global norm). */
export const AXPY = 'WebttaAxpy';

/** PCG-style hash of a 32-bit value (one round of the PCG output permutation). */
export function hash32(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Uniform in [0, 1) for element `index` under `seed`: 24 bits, exact in float32. */
export function hashUniform(seed: number, index: number): number {
  return (hash32((hash32(seed) + index) >>> 0) >>> 8) / 16777216;
}

function pairs(inputs: tf.NamedTensorInfoMap, a: string, b: string): [tf.TensorInfo, tf.TensorInfo][] {
  const n = Object.keys(inputs).length / 2;
  return Array.from({ length: n }, (_, i) => [inputs[`${a}${i}`]!, inputs[`${b}${i}`]!]);
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: EMA_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const m = (attrs as { momentum: number }).momentum;
      const h = hostAccess(backendName, backend);
      const ps = pairs(inputs, 't', 's');
      const outs = ps.map(([t]) => h.alloc([...t.shape]));
      ps.forEach(([t, s], i) => {
        const [tv, sv, o] = [h.view(t), h.view(s), h.view(outs[i]!)];
        for (let j = 0; j < o.length; j++) o[j] = m * tv[j]! + (1 - m) * sv[j]!;
      });
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: SAM_PERTURB,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const rho = (attrs as { rho: number }).rho;
      const h = hostAccess(backendName, backend);
      const ps = pairs(inputs, 'w', 'g');
      const outs = ps.map(([w]) => h.alloc([...w.shape]));
      let sq = 0;
      for (const [, g] of ps) for (const v of h.view(g)) sq += v * v;
      const scale = rho / (Math.sqrt(sq) + 1e-12);
      ps.forEach(([w, g], i) => {
        const [wv, gv, o] = [h.view(w), h.view(g), h.view(outs[i]!)];
        for (let j = 0; j < o.length; j++) o[j] = wv[j]! + gv[j]! * scale;
      });
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: STOCHASTIC_RESTORE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, seed } = attrs as { p: number; seed: number };
      const { w, source } = inputs as Record<string, tf.TensorInfo>;
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...w!.shape]);
      const [wv, sv, o] = [h.view(w!), h.view(source!), h.view(out)];
      const s = hash32(seed);
      const pf = Math.fround(p); // WGSL compares in f32
      for (let j = 0; j < o.length; j++) o[j] = (hash32((s + j) >>> 0) >>> 8) / 16777216 < pf ? sv[j]! : wv[j]!;
      return out;
    },
  });
}

function checkPairs(op: string, a: readonly tf.Tensor[], b: readonly tf.Tensor[]): void {
  if (a.length !== b.length) throw new Error(`${op}: ${a.length} vs ${b.length} tensors`);
  a.forEach((t, i) => {
    if (!tf.util.arraysEqual(t.shape, b[i]!.shape)) throw new Error(`${op}: tensor ${i} has shape [${t.shape}], its partner [${b[i]!.shape}]`);
  });
}

/** A fused optimiser update's inputs (gradient, slots) must have the parameter's shape; absent slots are skipped. */
export function checkShapesLike(op: string, p: tf.Variable, parts: readonly (readonly [string, tf.Tensor | null])[]): void {
  for (const [name, t] of parts) {
    if (t && !tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${op}: ${name} has shape [${t.shape}], the parameter ${p.name} [${p.shape}]`);
  }
}

function named(prefixA: string, a: readonly tf.Tensor[], prefixB: string, b: readonly tf.Tensor[]): tf.NamedTensorMap {
  const map: tf.NamedTensorMap = {};
  a.forEach((t, i) => {
    map[`${prefixA}${i}`] = t;
    map[`${prefixB}${i}`] = b[i]!;
  });
  return map;
}

/** teacher <- momentum * teacher + (1 - momentum) * student, for every pair, in one kernel call. */
export function emaUpdateFused(teacher: readonly tf.Variable[], student: readonly tf.Tensor[], momentum: number): void {
  checkPairs(EMA_UPDATE, teacher, student);
  if (!teacher.length) return;
  const outs = tf.engine().runKernel(EMA_UPDATE, named('t', teacher, 's', student), { momentum } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  teacher.forEach((t, i) => t.assign(outs[i]!));
  tf.dispose(outs);
}

/** w <- w + rho * g / (||g||_2 + 1e-12), the norm over all of `grads` together; returns nothing (in place). */
export function samPerturbFused(vars: readonly tf.Variable[], grads: readonly tf.Tensor[], rho: number): void {
  checkPairs(SAM_PERTURB, vars, grads);
  if (!vars.length) return;
  const outs = tf.getBackend() === 'webgpu' ? perturbOnDevice(vars, grads, rho) : (tf.engine().runKernel(SAM_PERTURB, named('w', vars, 'g', grads), { rho } as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  vars.forEach((v, i) => v.assign(outs[i]!));
  tf.dispose(outs);
}

/** The norm's reduction with stock ops (it stays on the device), then one fused w + g * scale per tensor. */
function perturbOnDevice(vars: readonly tf.Variable[], grads: readonly tf.Tensor[], rho: number): tf.Tensor[] {
  return tf.tidy(() => {
    const scale = tf.div(rho, tf.add(tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))), 1e-12)).reshape([1]);
    return vars.map((w, i) => tf.engine().runKernel(AXPY, { w, g: grads[i]!, scale }) as tf.Tensor);
  });
}

/** Each element of each variable goes back to its source value with probability p; seeds derive from `seed`. */
export function stochasticRestoreFused(vars: readonly tf.Variable[], sources: readonly tf.Tensor[], p: number, seed: number): void {
  checkPairs(STOCHASTIC_RESTORE, vars, sources);
  if (!(p >= 0 && p <= 1)) throw new Error(`${STOCHASTIC_RESTORE}: probability ${p} is outside [0, 1]`);
  vars.forEach((v, i) => {
    const out = tf.engine().runKernel(STOCHASTIC_RESTORE, { w: v, source: sources[i]! }, { p, seed: (seed + i * 0x9e3779b9) >>> 0 } as unknown as tf.NamedAttrMap) as tf.Tensor;
    v.assign(out);
    out.dispose();
  });
}

const fused = new Set<string>(['wasm']);

/** Turn the fused EMA / SAM updates on or off for a backend (webgpu turns itself on when its module loads). */
export function useFusedUpdates(backendName: string, on: boolean): void {
  if (on) fused.add(backendName);
  else fused.delete(backendName);
}

export function hasFusedUpdates(backendName: string): boolean {
  return fused.has(backendName);
}
