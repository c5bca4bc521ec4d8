/**
 * Fused training-mode BatchNorm (batch statistics, channels last) for the TTA hot path.
 *
 * Built from elementwise tfjs ops, BatchNorm costs ~10 kernels forward and more backward,
 * including reductions over the batch and spatial axes that tfjs-wasm runs as a transpose
 * plus a reduction. Here the forward is one kernel (statistics + normalisation) and the
 * backward two passes: per-channel sums of dy and dy*x_hat (computed once per backward
 * node), then dx. wasm runs them as WebAssembly SIMD on its heap (batch-norm-simd.ts), cpu
 * (and wasm without SIMD) the JS loops below on the tensors' memory; webgpu runs WGSL
 * (webgpu.ts). Variance is the biased one, as PyTorch normalises.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKENDS, checkFloat, hostAccess } from './host.ts';
import { bnSimd } from './batch-norm-simd.ts';

export const BN_FORWARD = 'WebttaBatchNormTrain';
export const BN_GRAD_PARAMS = 'WebttaBatchNormGradParams';
export const BN_GRAD_INPUT = 'WebttaBatchNormGradInput';
/** y = x * scale + shift per channel: BatchNorm with fixed statistics (eval mode), one pass. */
export const CHANNEL_AFFINE = 'WebttaChannelAffine';

/**
 * y = (x - mean) * invStd * scale + offset with the batch's mean and invStd = 1/sqrt(var + eps);
 * stats = [mean, invStd] ([2, C] row-major).
 */
export function bnForwardCore(x: Float32Array, scale: Float32Array, offset: Float32Array, eps: number, y: Float32Array, stats: Float32Array): void {
  const c = scale.length;
  const mean = stats.subarray(0, c);
  const invStd = stats.subarray(c, 2 * c);
  const m = x.length / c;
  // One pass: sums of x - shift and its square, shifted by the first row so that the
  // variance does not cancel when |mean| >> std; float64 accumulators.
  const shift = x.slice(0, c);
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  for (let i = 0; i < x.length; i += c)
    for (let k = 0; k < c; k++) {
      const d = x[i + k]! - shift[k]!;
      s1[k]! += d;
      s2[k]! += d * d;
    }
  const acc = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    const dm = s1[k]! / m;
    mean[k] = shift[k]! + dm;
    acc[k] = Math.max(0, s2[k]! - s1[k]! * dm); // sum of squared deviations
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

/** grads = [dScale, dOffset] ([2, C]): sums of dy * x_hat and of dy over all but the channel axis. */
export function bnGradParamsCore(dy: Float32Array, x: Float32Array, stats: Float32Array, grads: Float32Array): void {
  const c = stats.length / 2;
  const mean = stats.subarray(0, c);
  const invStd = stats.subarray(c);
  const dScale = grads.subarray(0, c);
  const dOffset = grads.subarray(c);
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
export function bnGradInputCore(dy: Float32Array, x: Float32Array, stats: Float32Array, scale: Float32Array, grads: Float32Array, dx: Float32Array): void {
  const c = scale.length;
  const mean = stats.subarray(0, c);
  const invStd = stats.subarray(c);
  const dScale = grads.subarray(0, c);
  const dOffset = grads.subarray(c);
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

/** y = x * a + b per channel (last axis). */
export function channelAffineCore(x: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array): void {
  const c = a.length;
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) y[i + k] = x[i + k]! * a[k]! + b[k]!;
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      checkFloat(BN_FORWARD, { x: x!, scale: scale!, offset: offset! });
      const h = hostAccess(backendName, backend);
      const outs = [h.alloc([...x!.shape]), h.alloc([2, scale!.shape[0]!])];
      const eps = (attrs as { epsilon: number }).epsilon;
      const simd = bnSimd(backend);
      if (simd) simd.forward(x!, scale!, offset!, eps, outs[0]!, outs[1]!);
      else bnForwardCore(h.view(x!), h.view(scale!), h.view(offset!), eps, h.view(outs[0]!), h.view(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BN_GRAD_PARAMS,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x, stats } = inputs as Record<string, tf.TensorInfo>;
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...stats!.shape]);
      const simd = bnSimd(backend);
      if (simd) simd.gradParams(dy!, x!, stats!, out);
      else bnGradParamsCore(h.view(dy!), h.view(x!), h.view(stats!), h.view(out));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: BN_GRAD_INPUT,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x, stats, scale, grads } = inputs as Record<string, tf.TensorInfo>;
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...x!.shape]);
      const simd = bnSimd(backend);
      if (simd) simd.gradInput(dy!, x!, stats!, scale!, grads!, out);
      else bnGradInputCore(h.view(dy!), h.view(x!), h.view(stats!), h.view(scale!), h.view(grads!), h.view(out));
      return out;
    },
  });
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: CHANNEL_AFFINE,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { x, scale, shift } = inputs as Record<string, tf.TensorInfo>;
      checkFloat(CHANNEL_AFFINE, { x: x!, scale: scale!, shift: shift! });
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...x!.shape]);
      const simd = bnSimd(backend);
      if (simd) simd.affine(x!, scale!, shift!, out);
      else channelAffineCore(h.view(x!), h.view(scale!), h.view(shift!), h.view(out));
      return out;
    },
  });
}

tf.registerGradient({
  kernelName: CHANNEL_AFFINE,
  inputsToSave: ['x', 'scale'],
  gradFunc: (dy, saved) => {
    const [x, scale] = saved as [tf.Tensor, tf.Tensor1D];
    const g = dy as tf.Tensor;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    return { x: () => tf.mul(g, scale), scale: () => tf.sum(tf.mul(g, x), axes), shift: () => tf.sum(g, axes) };
  },
});

tf.registerGradient({
  kernelName: BN_FORWARD,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [x, scale, stats] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor2D];
    const c = scale.shape[0];
    // Both parameter gradients and dx need the per-channel sums: one pass, shared. Tensors made
    // here live until the end of the backward pass (tfjs's gradient scope), so nothing leaks.
    const grads = tf.engine().runKernel(BN_GRAD_PARAMS, { dy, x, stats }) as tf.Tensor2D;
    return {
      x: () => tf.engine().runKernel(BN_GRAD_INPUT, { dy, x, stats, scale, grads }) as tf.Tensor,
      scale: () => tf.slice(grads, [0, 0], [1, c]).reshape([c]),
      offset: () => tf.slice(grads, [1, 0], [1, c]).reshape([c]),
    };
  },
});

const fusedBackends = new Set<string>(['wasm']);

/** Turn the fused path on or off for a backend (webgpu turns itself on when its module loads; off for A/B timing). */
export function useFusedBatchNorm(backendName: string, on: boolean): void {
  if (on) fusedBackends.add(backendName);
  else fusedBackends.delete(backendName);
}

export function hasFusedBatchNorm(backendName: string): boolean {
  return fusedBackends.has(backendName);
}

/** x * scale + shift with per-channel (last axis) scale and shift, in one kernel. */
export function channelAffine(x: tf.Tensor, scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor {
  const c = x.shape[x.rank - 1];
  if (scale.shape[0] !== c || shift.shape[0] !== c) {
    throw new Error(`${CHANNEL_AFFINE}: input has ${c} channels, scale [${scale.shape}] and shift [${shift.shape}]`);
  }
  return tf.engine().runKernel(CHANNEL_AFFINE, { x, scale, shift }) as tf.Tensor;
}

/**
 * Training-mode BatchNorm over all but the last axis; differentiable w.r.t. x, scale and offset.
 * `stats` is [2, C]: the batch mean and 1/sqrt(biased variance + epsilon).
 */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): { y: tf.Tensor; stats: tf.Tensor2D } {
  const c = x.shape[x.rank - 1];
  if (scale.shape[0] !== c || offset.shape[0] !== c) {
    throw new Error(`${BN_FORWARD}: input has ${c} channels, scale [${scale.shape}] and offset [${offset.shape}]`);
  }
  const [y, stats] = tf.engine().runKernel(BN_FORWARD, { x, scale, offset }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: y!, stats: stats as tf.Tensor2D };
}
