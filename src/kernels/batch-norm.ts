/**
 * Fused training-mode BatchNorm (batch statistics, channels last) for the TTA hot path.
 *
 * Built from elementwise tfjs ops, BatchNorm costs ~10 kernels forward and more backward,
 * including reductions over the batch and spatial axes that tfjs-wasm runs as a transpose
 * plus a reduction. Here the forward is one kernel (statistics + normalisation) and the
 * backward two passes: per-channel sums of dy and dy*x_hat (computed once per backward
 * node), then dx. CPU-side backends (wasm, cpu) run the loops below on the tensors' memory;
 * webgpu runs WGSL (batch-norm-webgpu.ts). Variance is the biased one, as PyTorch normalises.
 */
import * as tf from '@tensorflow/tfjs';

export const BN_FORWARD = 'WebttaBatchNormTrain';
export const BN_GRAD_PARAMS = 'WebttaBatchNormGradParams';
export const BN_GRAD_INPUT = 'WebttaBatchNormGradInput';

/** y = (x - mean) * invStd * scale + offset with the batch's mean and 1/sqrt(var + eps). */
export function bnForwardCore(x: Float32Array, scale: Float32Array, offset: Float32Array, eps: number, y: Float32Array, mean: Float32Array, invStd: Float32Array): void {
  const c = scale.length;
  const m = x.length / c;
  const acc = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) acc[k]! += x[i + k]!;
  for (let k = 0; k < c; k++) mean[k] = acc[k]! / m;
  acc.fill(0);
  for (let i = 0; i < x.length; i += c)
    for (let k = 0; k < c; k++) {
      const d = x[i + k]! - mean[k]!;
      acc[k]! += d * d;
    }
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    invStd[k] = 1 / Math.sqrt(acc[k]! / m + eps);
    a[k] = scale[k]! * invStd[k]!;
    b[k] = offset[k]! - mean[k]! * a[k]!;
  }
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) y[i + k] = x[i + k]! * a[k]! + b[k]!;
}

/** dScale = sum dy * x_hat, dOffset = sum dy over all but the channel axis. */
export function bnGradParamsCore(dy: Float32Array, x: Float32Array, mean: Float32Array, invStd: Float32Array, dScale: Float32Array, dOffset: Float32Array): void {
  const c = mean.length;
  const sdy = new Float64Array(c);
  const sdyx = new Float64Array(c);
  for (let i = 0; i < x.length; i += c)
    for (let k = 0; k < c; k++) {
      const g = dy[i + k]!;
      sdy[k]! += g;
      sdyx[k]! += g * (x[i + k]! - mean[k]!);
    }
  for (let k = 0; k < c; k++) {
    dOffset[k] = sdy[k]!;
    dScale[k] = sdyx[k]! * invStd[k]!;
  }
}

/** dx = scale * invStd * (dy - dOffset / M - x_hat * dScale / M), written as dy*p + x*q + r per channel. */
export function bnGradInputCore(dy: Float32Array, x: Float32Array, mean: Float32Array, invStd: Float32Array, scale: Float32Array, dScale: Float32Array, dOffset: Float32Array, dx: Float32Array): void {
  const c = mean.length;
  const m = x.length / c;
  const p = new Float32Array(c);
  const q = new Float32Array(c);
  const r = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const gs = scale[k]! * invStd[k]!;
    p[k] = gs;
    q[k] = (-gs * invStd[k]! * dScale[k]!) / m;
    r[k] = (-gs * dOffset[k]!) / m - q[k]! * mean[k]!;
  }
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) dx[i + k] = dy[i + k]! * p[k]! + x[i + k]! * q[k]! + r[k]!;
}

/** How a CPU-side backend exposes tensor memory: read views and fresh outputs. */
interface HostAccess {
  view(t: tf.TensorInfo): Float32Array;
  /** Allocate outputs first: on wasm, allocation can grow (and detach) the heap. */
  alloc(shape: number[]): tf.TensorInfo;
}

type WasmLike = { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
type CpuLike = { data: { get(id: object): { values: Float32Array } }; makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo };

function hostAccess(backendName: string, backend: unknown): HostAccess {
  if (backendName === 'wasm') {
    const b = backend as WasmLike;
    return { view: (t) => b.typedArrayFromHeap(t), alloc: (shape) => b.makeOutput(shape, 'float32') };
  }
  const b = backend as CpuLike;
  return {
    view: (t) => b.data.get(t.dataId).values,
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, d) => a * d, 1))),
  };
}

function checkFloat(op: string, inputs: Record<string, tf.TensorInfo>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`${op}: input ${name} is ${t.dtype}, expected float32`);
  }
}

export const HOST_BACKENDS = ['wasm', 'cpu'] as const;

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      checkFloat(BN_FORWARD, { x: x!, scale: scale!, offset: offset! });
      const c = scale!.shape[0]!;
      const h = hostAccess(backendName, backend);
      const outs = [h.alloc([...x!.shape]), h.alloc([c]), h.alloc([c])];
      const [y, mean, invStd] = outs.map((t) => h.view(t)) as [Float32Array, Float32Array, Float32Array];
      bnForwardCore(h.view(x!), h.view(scale!), h.view(offset!), (attrs as { epsilon: number }).epsilon, y, mean, invStd);
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BN_GRAD_PARAMS,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x, mean, invStd } = inputs as Record<string, tf.TensorInfo>;
      const c = mean!.shape[0]!;
      const h = hostAccess(backendName, backend);
      const outs = [h.alloc([c]), h.alloc([c])];
      bnGradParamsCore(h.view(dy!), h.view(x!), h.view(mean!), h.view(invStd!), h.view(outs[0]!), h.view(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BN_GRAD_INPUT,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x, mean, invStd, scale, dScale, dOffset } = inputs as Record<string, tf.TensorInfo>;
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...x!.shape]);
      bnGradInputCore(h.view(dy!), h.view(x!), h.view(mean!), h.view(invStd!), h.view(scale!), h.view(dScale!), h.view(dOffset!), h.view(out));
      return out;
    },
  });
}

tf.registerGradient({
  kernelName: BN_FORWARD,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [x, scale, mean, invStd] = saved as tf.Tensor[];
    // Both parameter gradients and dx need the per-channel sums: one pass, shared. Tensors made
    // here live until the end of the backward pass (tfjs's gradient scope), so nothing leaks.
    const [dScale, dOffset] = tf.engine().runKernel(BN_GRAD_PARAMS, { dy, x: x!, mean: mean!, invStd: invStd! }) as tf.Tensor[];
    return {
      x: () => tf.engine().runKernel(BN_GRAD_INPUT, { dy, x: x!, mean: mean!, invStd: invStd!, scale: scale!, dScale: dScale!, dOffset: dOffset! }) as tf.Tensor,
      scale: () => tf.clone(dScale!),
      offset: () => tf.clone(dOffset!),
    };
  },
});

// Default on where it pays: wasm. The cpu kernels exist (tests, opt-in) but cpu keeps tfjs's
// own float32 arithmetic, which the model's finite-difference tests are tuned to.
const fusedBackends = new Set<string>(['wasm']);

/** Turn the fused path on or off for a backend (webgpu turns itself on when its module loads; off for A/B timing). */
export function useFusedBatchNorm(backendName: string, on: boolean): void {
  if (on) fusedBackends.add(backendName);
  else fusedBackends.delete(backendName);
}

export function hasFusedBatchNorm(backendName: string): boolean {
  return fusedBackends.has(backendName);
}

/** Training-mode BatchNorm over all but the last axis; differentiable w.r.t. x, scale and offset. */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): { y: tf.Tensor; mean: tf.Tensor1D; invStd: tf.Tensor1D } {
  const c = x.shape[x.rank - 1];
  if (scale.shape[0] !== c || offset.shape[0] !== c) {
    throw new Error(`${BN_FORWARD}: input has ${c} channels, scale [${scale.shape}] and offset [${offset.shape}]`);
  }
  const [y, mean, invStd] = tf.engine().runKernel(BN_FORWARD, { x, scale, offset }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: y!, mean: mean as tf.Tensor1D, invStd: invStd as tf.Tensor1D };
}
