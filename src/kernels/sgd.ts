/**
 * SGD's update of one parameter as one kernel call (torch.optim.SGD):
 *   d   = g + weightDecay * p
 *   buf <- d on the first step, else momentum * buf + (1 - dampening) * d   (momentum > 0)
 *   d   = nesterov ? d + momentum * buf : buf                               (momentum > 0)
 *   p   <- p - lr * d
 * Same float32 operations in the same order as the stock-op path in methods/shared/optim.ts
 * (host kernels equal it bit for bit), for the same reason as kernels/adam.ts: on webgpu the
 * stock path is up to 9 dispatches and 5 uploaded scalars per parameter, this is 1-2.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKENDS, checkFloat, hostAccess } from './host.ts';
import { checkShapesLike } from './multi-tensor.ts';

export const SGD_UPDATE = 'WebttaSgdUpdate';

export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** No momentum buffer yet: it starts as d (the `buf` input is then ignored). */
  first: boolean;
}

/** New p (and momentum buffer when momentum > 0), each op rounded to float32 as the stock ops. */
export function sgdCore(p: Float32Array, g: Float32Array, buf: Float32Array, a: SgdUpdateAttrs, pOut: Float32Array, bufOut: Float32Array | undefined): void {
  const f = Math.fround;
  const [lr, mom, oneMinusDamp, wd] = [a.lr, a.momentum, 1 - a.dampening, a.weightDecay].map(f) as number[];
  for (let j = 0; j < p.length; j++) {
    let d = wd !== 0 ? f(g[j]! + f(p[j]! * wd!)) : g[j]!;
    if (bufOut) {
      const b = a.first ? d : f(f(buf[j]! * mom!) + f(d * oneMinusDamp!));
      bufOut[j] = b;
      d = a.nesterov ? f(d + f(b * mom!)) : b;
    }
    pOut[j] = f(p[j]! - f(d * lr!));
  }
}

for (const backendName of HOST_BACKENDS) {
  tf.registerKernel({
    kernelName: SGD_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, buf } = inputs as Record<string, tf.TensorInfo>;
      checkFloat(SGD_UPDATE, inputs as Record<string, tf.TensorInfo>);
      const a = attrs as unknown as SgdUpdateAttrs;
      const h = hostAccess(backendName, backend);
      const outs = a.momentum !== 0 ? [h.alloc([...p!.shape]), h.alloc([...p!.shape])] : [h.alloc([...p!.shape])];
      sgdCore(h.view(p!), h.view(g!), h.view(buf!), a, h.view(outs[0]!), outs[1] && h.view(outs[1]));
      return outs;
    },
  });
}

/** One SGD step of `p` (assigned in place); returns the new momentum buffer (null without momentum). */
export function sgdUpdateFused(p: tf.Variable, g: tf.Tensor, buf: tf.Tensor | null, attrs: Omit<SgdUpdateAttrs, 'first'>): tf.Tensor | null {
  checkShapesLike(SGD_UPDATE, p, [['gradient', g], ['momentum buffer', buf]]);
  const outs = tf.engine().runKernel(SGD_UPDATE, { p, g, buf: buf ?? g }, { ...attrs, first: !buf } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(outs[0]!);
  outs[0]!.dispose();
  return outs[1] ?? null;
}
