/**
 * The wasm backend's BatchNorm loops as WebAssembly SIMD (batch-norm-simd.wat) instead of JS:
 * the module imports tfjs-wasm's own memory, so it works on the tensors where they lie and
 * memory growth needs nothing (it sees the same Memory; only JS views would go stale). Sums
 * stay float64 and bit-identical to the JS cores; elementwise outputs are float32.
 */
import type * as tf from '@tensorflow/tfjs';
import { BN_SIMD_SHARED, BN_SIMD_UNSHARED } from './batch-norm-simd.wasm.ts';

interface Exports {
  affine(x: number, m: number, c: number, a: number, b: number, y: number, tmp: number): void;
  forward(x: number, m: number, c: number, scale: number, offset: number, eps: number, y: number, stats: number, tmp: number): void;
  gradParams(dy: number, x: number, m: number, c: number, stats: number, grads: number, tmp: number): void;
  gradInput(dy: number, x: number, m: number, c: number, stats: number, scale: number, grads: number, dx: number, tmp: number): void;
}

/**
 * What we use of tfjs-wasm 4.22's backend: tensors' heap offsets, malloc for scratch, and the
 * Memory: exported by the non-threaded build (`asm.memory`), created in JS and kept as
 * `wasmMemory` by the threaded one.
 */
interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { wasmMemory?: unknown; asm?: { memory?: unknown }; _malloc(bytes: number): number; _free(ptr: number): void };
}

/** The kernels on one backend's memory; tensors are channels last, float32. */
export interface BnSimd {
  forward(x: tf.TensorInfo, scale: tf.TensorInfo, offset: tf.TensorInfo, eps: number, y: tf.TensorInfo, stats: tf.TensorInfo): void;
  gradParams(dy: tf.TensorInfo, x: tf.TensorInfo, stats: tf.TensorInfo, grads: tf.TensorInfo): void;
  gradInput(dy: tf.TensorInfo, x: tf.TensorInfo, stats: tf.TensorInfo, scale: tf.TensorInfo, grads: tf.TensorInfo, dx: tf.TensorInfo): void;
  affine(x: tf.TensorInfo, scale: tf.TensorInfo, shift: tf.TensorInfo, y: tf.TensorInfo): void;
}

let enabled = true;
const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<object, BnSimd | null>();

/** Turn the SIMD kernels off (JS loops on the heap, as on cpu) or back on; for A/B timing. */
export function useSimdBatchNorm(on: boolean): void {
  enabled = on;
}

function compile(shared: boolean): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    const bytes = Uint8Array.from(atob(shared ? BN_SIMD_SHARED : BN_SIMD_UNSHARED), (ch) => ch.charCodeAt(0));
    // Synchronous: kernels are synchronous, and at ~2 KB the module is under the 4 KB that
    // Chromium allows to compile synchronously on a page's main thread.
    compiled.set(shared, WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null);
  }
  return compiled.get(shared)!;
}

function instantiate(b: WasmBackendLike): BnSimd | null {
  const memory = b.wasm.wasmMemory ?? b.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const module = compile(shared);
  if (!module) return null; // no wasm SIMD here
  let k: Exports;
  try {
    k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
  } catch {
    return null; // a memory this module cannot import (another tfjs-wasm layout): JS loops
  }
  const ptr = (t: tf.TensorInfo) => {
    const d = b.dataIdMap.get(t.dataId);
    if (!d) throw new Error('BatchNorm SIMD: tensor not on this wasm backend');
    return d.memoryOffset;
  };
  const rows = (x: tf.TensorInfo, c: number) => x.shape.reduce((a, d) => a * d, 1) / c;
  const withScratch = (bytes: number, f: (tmp: number) => void) => {
    const tmp = b.wasm._malloc(bytes);
    try {
      f(tmp);
    } finally {
      b.wasm._free(tmp);
    }
  };
  return {
    forward(x, scale, offset, eps, y, stats) {
      const c = scale.shape[0]!;
      withScratch(20 * c, (tmp) => k.forward(ptr(x), rows(x, c), c, ptr(scale), ptr(offset), eps, ptr(y), ptr(stats), tmp));
    },
    gradParams(dy, x, stats, grads) {
      const c = stats.shape[1]!;
      withScratch(24 * c, (tmp) => k.gradParams(ptr(dy), ptr(x), rows(x, c), c, ptr(stats), ptr(grads), tmp));
    },
    gradInput(dy, x, stats, scale, grads, dx) {
      const c = scale.shape[0]!;
      withScratch(12 * c, (tmp) => k.gradInput(ptr(dy), ptr(x), rows(x, c), c, ptr(stats), ptr(scale), ptr(grads), ptr(dx), tmp));
    },
    affine(x, scale, shift, y) {
      const c = scale.shape[0]!;
      withScratch(4 * c, (tmp) => k.affine(ptr(x), rows(x, c), c, ptr(scale), ptr(shift), ptr(y), tmp));
    },
  };
}

/** The SIMD kernels for a tfjs-wasm backend, or undefined (switched off, no SIMD, unknown module layout). */
export function bnSimd(backend: unknown): BnSimd | undefined {
  if (!enabled) return undefined;
  const b = backend as WasmBackendLike;
  if (!b?.wasm) return undefined;
  if (!instances.has(b.wasm)) instances.set(b.wasm, instantiate(b));
  return instances.get(b.wasm) ?? undefined;
}
