/**
 * Backend choice for tfjs: webgpu (hardware adapters), wasm (SIMD, threads when the page
 * is cross-origin isolated), webgl, cpu. `auto` skips software WebGPU adapters: on a 2-core
 * machine SwiftShader ran a CIFAR ResNet-20 forward at batch 64 in 17.6 s, wasm in 0.18-0.27 s.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface BackendInfo {
  /** The backend tfjs actually runs on (checked after initialisation). */
  backend: BackendName;
  requested: BackendChoice;
  /** Present when a WebGPU adapter exists, whether or not it was chosen. */
  adapter?: AdapterInfo;
  /** wasm only: the threads tfjs's wasm backend runs with (1 when not cross-origin isolated). */
  wasmThreads?: number;
  /** wasm only: whether the SIMD build was loaded. */
  wasmSimd?: boolean;
  crossOriginIsolated: boolean;
  /** Backends tried and why they were not used. */
  skipped: { backend: BackendName; reason: string }[];
}

/** What navigator.gpu.requestAdapter() resolves to (older Chromium: isFallbackAdapter on the adapter). */
export interface GpuAdapterLike {
  info?: Partial<AdapterInfo>;
  isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

/** Adapter info with isFallbackAdapter also set for software rasterisers that do not say so. */
export function describeAdapter(adapter: GpuAdapterLike): AdapterInfo {
  const info = adapter.info ?? {};
  const description = info.description ?? '';
  const isSoftware =
    Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${description}`);
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description,
    isFallbackAdapter: isSoftware,
  };
}

async function probeAdapter(): Promise<AdapterInfo | undefined> {
  const gpu = (globalThis.navigator as unknown as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter();
  return adapter ? describeAdapter(adapter) : undefined;
}

/**
 * The backends to try, in order, for a request, and those ruled out before trying: webgpu
 * without an adapter, and under `auto` webgpu on a software adapter.
 */
export function planBackends(requested: BackendChoice, adapter: AdapterInfo | undefined): { order: BackendName[]; skipped: BackendInfo['skipped'] } {
  const skipped: BackendInfo['skipped'] = [];
  const candidates: BackendName[] = requested === 'auto' ? ['webgpu', 'wasm', 'webgl', 'cpu'] : [requested];
  const order = candidates.filter((name) => {
    if (name !== 'webgpu') return true;
    if (!adapter) {
      skipped.push({ backend: name, reason: 'no WebGPU adapter (navigator.gpu missing or requestAdapter() returned null)' });
      return false;
    }
    if (requested === 'auto' && adapter.isFallbackAdapter) {
      skipped.push({ backend: name, reason: `software adapter (${adapter.vendor} ${adapter.description})`.trim() });
      return false;
    }
    return true;
  });
  return { order, skipped };
}

let wasmConfigured = false;

/** Threads to ask tfjs-wasm for: the count given, else one per logical core; 1 without threads. */
function wasmThreadsWanted(requested?: number): number {
  const isolated = Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated);
  return isolated ? Math.max(1, requested ?? globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}

/** Must run before the wasm backend initialises (tfjs ignores later thread-count changes). */
function configureWasm(threads: number, wasmPaths?: string | Record<string, string>): void {
  if (wasmConfigured) return;
  if (wasmPaths) setWasmPaths(wasmPaths);
  setThreadsCount(threads);
  wasmConfigured = true;
}

/**
 * tfjs-wasm 4.22 caps its XNNPACK pool at navigator.hardwareConcurrency / 2 (it assumes two
 * hyperthreads per core), read once while the module instantiates: on a 2-core machine that
 * is 1 thread whatever setThreadsCount asked for. Reporting twice the wanted threads during
 * that one instantiation makes the cap the count asked for; the real value comes back after.
 */
async function withWasmThreadCap<T>(wanted: number, start: () => Promise<T>): Promise<T> {
  const nav = globalThis.navigator as { hardwareConcurrency?: number } | undefined;
  if (!nav || wanted < 2 || Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency')) return start();
  Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => 2 * wanted });
  try {
    return await start();
  } finally {
    delete nav.hardwareConcurrency;
  }
}

export interface InitOptions {
  /** Where the tfjs wasm binaries are served (browser builds pass Vite asset URLs). */
  wasmPaths?: string | Record<string, string>;
  /** wasm threads (default: one per logical core; tfjs-wasm has at most 8); fixed by the first wasm start. */
  wasmThreads?: number;
}

/** Whether a tfjs backend registered itself (tfjs-backend-webgpu does only where navigator.gpu exists at import). */
export function isBackendRegistered(name: BackendName): boolean {
  return tf.findBackendFactory(name) !== null;
}

export async function initBackend(requested: BackendChoice = 'auto', opts: InitOptions = {}): Promise<BackendInfo> {
  const adapter = await probeAdapter();
  const { order, skipped } = planBackends(requested, adapter);
  const threads = wasmThreadsWanted(opts.wasmThreads);
  for (const name of order) {
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      configureWasm(threads, opts.wasmPaths);
    }
    let ok = false;
    try {
      ok = name === 'wasm' ? await withWasmThreadCap(threads, () => tf.setBackend(name)) : await tf.setBackend(name);
      await tf.ready();
    } catch (err) {
      skipped.push({ backend: name, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    // tf.setBackend can return false and leave another backend active: trust getBackend().
    if (ok && tf.getBackend() === name) {
      // The wasm backend's real thread count and build, not what configureWasm asked for.
      const wasm = name === 'wasm' ? { wasmThreads: getThreadsCount(), wasmSimd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) } : {};
      return {
        backend: name,
        requested,
        adapter,
        ...wasm,
        crossOriginIsolated: Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated),
        skipped,
      };
    }
    skipped.push({ backend: name, reason: `tf.setBackend('${name}') failed; active backend is ${tf.getBackend()}` });
  }
  const reasons = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  throw new Error(`no usable tfjs backend for '${requested}' (${reasons})`);
}
