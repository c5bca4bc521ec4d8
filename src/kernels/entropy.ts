/**
 * Fused softmax entropy over the last axis (Tent's loss): H = lse - sum softmax(z) * z, with
 * dH/dz_j = -p_j (log p_j + H). One kernel forward (H and the log-sum-exp, saved for the
 * backward) and one backward, instead of logSoftmax/exp/mul/sum and their gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKENDS, hostAccess } from './host.ts';

export const ENTROPY_FORWARD = 'WebttaSoftmaxEntropy';
export const ENTROPY_GRAD = 'WebttaSoftmaxEntropyGrad';

/** Per row of z ([rows, k] flat): h = entropy of softmax, lse = log-sum-exp. */
export function entropyForwardCore(z: Float32Array, k: number, h: Float32Array, lse: Float32Array): void {
  for (let r = 0, o = 0; o < z.length; r++, o += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, z[o + j]!);
    let sum = 0;
    let dot = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(z[o + j]! - max);
      sum += e;
      dot += e * z[o + j]!;
    }
    lse[r] = max + Math.log(sum);
    h[r] = lse[r]! - dot / sum;
  }
}

/** dz = -dy * p * (log p + H) per row. */
export function entropyGradCore(dy: Float32Array, z: Float32Array, h: Float32Array, lse: Float32Array, k: number, dz: Float32Array): void {
  for (let r = 0, o = 0; o < z.length; r++, o += k) {
    for (let j = 0; j < k; j++) {
      const logp = z[o + j]! - lse[r]!;
      dz[o + j] = -dy[r]! * Math.exp(logp) * (logp + h[r]!);
    }
  }
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: ENTROPY_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { logits } = inputs as Record<string, tf.TensorInfo>;
      const rows = logits!.shape.slice(0, -1);
      const h = hostAccess(backendName, backend);
      const outs = [h.alloc(rows), h.alloc(rows)];
      entropyForwardCore(h.view(logits!), logits!.shape[logits!.shape.length - 1]!, h.view(outs[0]!), h.view(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: ENTROPY_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, logits, entropy, lse } = inputs as Record<string, tf.TensorInfo>;
      const h = hostAccess(backendName, backend);
      const out = h.alloc([...logits!.shape]);
      entropyGradCore(h.view(dy!), h.view(logits!), h.view(entropy!), h.view(lse!), logits!.shape[logits!.shape.length - 1]!, h.view(out));
      return out;
    },
  });
}

tf.registerGradient({
  kernelName: ENTROPY_FORWARD,
  inputsToSave: ['logits'],
  outputsToSave: [true, true],
  gradFunc: (dys, saved) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [logits, entropy, lse] = saved as tf.Tensor[];
    return { logits: () => tf.engine().runKernel(ENTROPY_GRAD, { dy, logits: logits!, entropy: entropy!, lse: lse! }) as tf.Tensor };
  },
});

const fused = new Set<string>(['wasm']);

/** Turn the fused entropy on or off for a backend (webgpu turns itself on when its module loads). */
export function useFusedEntropy(backendName: string, on: boolean): void {
  if (on) fused.add(backendName);
  else fused.delete(backendName);
}

export function hasFusedEntropy(backendName: string): boolean {
  return fused.has(backendName);
}

/** Entropy of softmax over the last axis, one value per row; differentiable w.r.t. logits. */
export function softmaxEntropyFused(logits: tf.Tensor): tf.Tensor {
  if (logits.rank < 1 || logits.dtype !== 'float32') throw new Error(`${ENTROPY_FORWARD}: logits must be float32 of rank >= 1, got ${logits.dtype} [${logits.shape}]`);
  const [h] = tf.engine().runKernel(ENTROPY_FORWARD, { logits }) as tf.Tensor[];
  return h!;
}
