/** Kernels that run as JavaScript loops on the memory of CPU-side backends (wasm heap, cpu arrays). */
import type * as tf from '@tensorflow/tfjs';

/** How a CPU-side backend exposes tensor memory: read views and fresh outputs. */
export interface HostAccess {
  view(t: tf.TensorInfo): Float32Array;
  /** Allocate outputs first: on wasm, allocation can grow (and detach) the heap. */
  alloc(shape: number[]): tf.TensorInfo;
}

type WasmLike = { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
type CpuLike = { data: { get(id: object): { values: Float32Array } }; makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo };

export function hostAccess(backendName: string, backend: unknown): HostAccess {
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

export function checkFloat(op: string, inputs: Record<string, tf.TensorInfo>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`${op}: input ${name} is ${t.dtype}, expected float32`);
  }
}

export const HOST_BACKENDS = ['wasm', 'cpu'] as const;
