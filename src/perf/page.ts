/**
 * The page `npm run perf` drives (perf.html): one backend per page load, so each starts
 * clean (wasm's thread count is fixed when it initialises). Progress goes to
 * window.perfEvent (exposed by Playwright).
 */
import * as tf from '@tensorflow/tfjs';
import { ortForwardThroughput } from '../bench/ort-baseline.ts';
import type { ForwardThroughput } from '../bench/types.ts';
import { initBackend, type BackendInfo, type BackendName } from '../runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../runtime/wasm-paths.ts';
import { timeModelCases, type CaseResult, type StepKind } from './steps.ts';

export interface PagePerfConfig {
  modelUrl: string;
  batches: number[];
  steps: StepKind[];
  minMs: number;
  maxIters: number;
  /** A warm-up slower than this skips the larger batches of the backend. */
  maxStepMs: number;
  /** tfjs-wasm / onnxruntime-web threads (default one per core). */
  wasmThreads?: number;
}

export interface BackendRun {
  info: BackendInfo;
  results: CaseResult[];
  skipped: string[];
  /** wasm only: the heap size after the run (it never shrinks: the peak). */
  wasmHeapBytes?: number;
}

declare global {
  interface Window {
    perfEvent?: (line: string) => void;
    webttaPerf: {
      env(): Promise<{ userAgent: string; hardwareConcurrency: number; crossOriginIsolated: boolean }>;
      runBackend(backend: BackendName, config: PagePerfConfig): Promise<BackendRun>;
      runOrt(config: PagePerfConfig): Promise<ForwardThroughput[]>;
    };
  }
}

const say = (line: string) => window.perfEvent?.(line);

async function modelBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`perf: cannot fetch model ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

window.webttaPerf = {
  async env() {
    return { userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated };
  },

  async runBackend(backend, config) {
    const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS, wasmThreads: config.wasmThreads });
    const { results, skipped } = await timeModelCases(await modelBytes(config.modelUrl), 'cifar10-resnet26', config, say);
    const wasm = backend === 'wasm' ? (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm : undefined;
    return { info, results, skipped, wasmHeapBytes: wasm?.HEAPU8.buffer.byteLength };
  },

  async runOrt(config) {
    const bytes = await modelBytes(config.modelUrl);
    const threads = crossOriginIsolated ? (config.wasmThreads ?? navigator.hardwareConcurrency) : 1;
    const out: ForwardThroughput[] = [];
    for (const batch of config.batches) {
      say(`onnxruntime-web wasm forward batch ${batch} ...`);
      // Same images for every timed call; enough calls for minMs at a guessed 5 ms per image.
      const n = batch * 32 * 32 * 3;
      const data = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000);
      const calls = Math.max(3, Math.min(config.maxIters, Math.ceil(config.minMs / (5 * batch))));
      const batches = Array.from({ length: calls + 1 }, () => ({ data, shape: [batch, 32, 32, 3] as [number, number, number, number] }));
      const r = await ortForwardThroughput(bytes, batches, threads);
      out.push(r);
      say(`onnxruntime-web wasm forward batch ${batch}: ${r.imagesPerSec.toFixed(1)} img/s`);
    }
    return out;
  },
};
