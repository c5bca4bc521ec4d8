/**
 * Adam's update of one parameter as one kernel call (torch.optim.Adam; weight decay as L2 in
 * the gradient, bias corrections folded into stepSize = lr / (1 - beta1^t) and
 * bc2Sqrt = sqrt(1 - beta2^t) on the host):
 *   g' = g + weightDecay * p
 *   m  <- beta1 * m + (1 - beta1) * g'
 *   v  <- beta2 * v + (1 - beta2) * g' * g'
 *   p  <- p - stepSize * m / (sqrt(v) / bc2Sqrt + eps)
 * Same float32 operations in the same order as the stock-op path in methods/shared/optim.ts,
 * so the host kernels equal it bit for bit. Why: with stock ops that is ~13 dispatches and 8
 * uploaded scalars per parameter, which on a GPU cost far more than the arithmetic
 * (docs/perf.md); the WGSL version is 3 dispatches with the scalars as uniforms.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKENDS, checkFloat, hostAccess } from './host.ts';
import { checkShapesLike } from './multi-tensor.ts';

export const ADAM_UPDATE = 'WebttaAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  bc2Sqrt: number;
  weightDecay: number;
}

/** New p, m, v from old p, g, m, v, each op rounded to float32 as tfjs's stock ops round it. */
export function adamCore(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, a: AdamUpdateAttrs, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array): void {
  const f = Math.fround;
  // Scalars become float32 tensors in the stock path, so they are rounded first too.
  const [b1, b2, ob1, ob2, eps, step, bc2, wd] = [a.beta1, a.beta2, 1 - a.beta1, 1 - a.beta2, a.eps, a.stepSize, a.bc2Sqrt, a.weightDecay].map(f) as number[];
  for (let j = 0; j < p.length; j++) {
    const gj = wd !== 0 ? f(g[j]! + f(p[j]! * wd!)) : g[j]!;
    const mj = f(f(m[j]! * b1!) + f(gj * ob1!));
    const vj = f(f(v[j]! * b2!) + f(f(gj * gj) * ob2!));
    const denom = f(f(f(Math.sqrt(vj)) / bc2!) + eps!);
    pOut[j] = f(p[j]! - f(f(mj / denom) * step!));
    mOut[j] = mj;
    vOut[j] = vj;
  }
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: ADAM_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
      checkFloat(ADAM_UPDATE, inputs as Record<string, tf.TensorInfo>);
      const h = hostAccess(backendName, backend);
      const outs = [h.alloc([...p!.shape]), h.alloc([...p!.shape]), h.alloc([...p!.shape])];
      adamCore(h.view(p!), h.view(g!), h.view(m!), h.view(v!), attrs as unknown as AdamUpdateAttrs, h.view(outs[0]!), h.view(outs[1]!), h.view(outs[2]!));
      return outs;
    },
  });
}

/** One Adam step of `p` (assigned in place); returns the new first and second moments. */
export function adamUpdateFused(p: tf.Variable, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamUpdateAttrs): { m: tf.Tensor; v: tf.Tensor } {
  checkShapesLike(ADAM_UPDATE, p, [['gradient', g], ['first moment', m], ['second moment', v]]);
  const [pNew, mNew, vNew] = tf.engine().runKernel(ADAM_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(pNew!);
  pNew!.dispose();
  return { m: mNew!, v: vNew! };
}
