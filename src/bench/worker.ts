/// <reference lib="webworker" />
/**
 * The benchmark's module worker: one TTASession (the same runtime the demo uses) runs the
 * whole protocol here, reading data over HTTP itself, and reports events to the page.
 */
import * as Comlink from 'comlink';
import { TTASession, type ModelSource } from '../runtime/session.ts';
import { TFJS_WASM_PATHS } from '../runtime/wasm-paths.ts';
import type { ImageBatch } from '../runtime/images.ts';
import { openDataSource } from './data.ts';
import { fetchBytes } from '../data/browser.ts';
import { ortForwardThroughput } from './ort-baseline.ts';
import { createBenchMethod } from './methods.ts';
import { methodInfo, type MethodContext } from '../methods/index.ts';
import { runProtocol, type Adapter, type BenchEvent, type RunCheckpoint } from './protocol.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import type { BenchConfig, Environment, ForwardThroughput } from './types.ts';

export interface WorkerRunResult {
  modelHash: string;
  backend: Environment['backend'];
  forward: ForwardThroughput[];
}

async function forwardThroughput(session: TTASession, batches: readonly ImageBatch[], backend: string): Promise<ForwardThroughput> {
  const first = await session.predict(batches[0]!);
  const t0 = performance.now();
  let images = 0;
  for (const b of batches.slice(1)) {
    await session.predict(b);
    images += b.shape[0];
  }
  return { engine: 'webtta', backend, batchSize: batches[0]!.shape[0], batches: batches.length - 1, imagesPerSec: (1000 * images) / (performance.now() - t0), firstBatchMs: first.ms };
}

/** The model's bytes: one .onnx file, or a TF.js layers model.json and the weight shards its manifest names. */
async function fetchModel(url: string, format: 'onnx' | 'tfjs-layers'): Promise<{ source: ModelSource; onnx?: Uint8Array }> {
  if (format === 'onnx') {
    const onnx = await fetchBytes(url);
    return { source: { format, bytes: onnx.slice() }, onnx };
  }
  const modelJson = JSON.parse(new TextDecoder().decode(await fetchBytes(url))) as { weightsManifest?: { paths: string[] }[] };
  if (!Array.isArray(modelJson.weightsManifest)) throw new Error(`${url}: no weightsManifest (not a TF.js layers model.json)`);
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  const weights = new Map<string, ArrayBuffer>();
  for (const path of modelJson.weightsManifest.flatMap((g) => g.paths)) weights.set(path, (await fetchBytes(base + path)).slice().buffer as ArrayBuffer);
  return { source: { format, modelJson, weights } };
}

const api = {
  /** `checkpoints`: runId() -> saved state of interrupted continual runs (from the output folder). */
  async run(config: BenchConfig, done: string[], checkpoints: [string, RunCheckpoint][], emit: (e: BenchEvent) => void): Promise<WorkerRunResult> {
    const session = new TTASession();
    try {
      const backend = await session.init(config.backend, { wasmPaths: TFJS_WASM_PATHS });
      emit({ type: 'log', message: `backend ${backend.backend}${backend.wasmThreads ? ` (${backend.wasmThreads} threads)` : ''}; skipped: ${backend.skipped.map((s) => `${s.backend} (${s.reason})`).join('; ') || 'none'}` });
      const { source, onnx } = await fetchModel(config.model.url, config.model.format);
      const info = await session.loadModel(source, { name: config.model.name, task: config.model.task, inputShape: config.model.inputShape });
      emit({ type: 'log', message: `model ${info.name}: ${info.task}, input ${info.inputShape.join('x')}, ${info.numClasses} classes, sha256 ${info.hash}` });
      const data = await openDataSource(config.dataset, { n: config.n, inputShape: config.model.inputShape });

      // Forward-only throughput of the freshly loaded (source) model on batches of the first domain, ours and optionally ORT's.
      const probe = await data.domain(config.corruptions[0]!, config.severities[0]!);
      const probeBatches: ImageBatch[] = [];
      for (let b = 0; b <= config.forwardBatches; b++) {
        const idx = Array.from({ length: config.forwardBatchSize }, (_, k) => (b * config.forwardBatchSize + k) % Math.min(probe.size, config.n));
        probeBatches.push({ data: (await probe.get(idx)).images, shape: [idx.length, probe.height, probe.width, 3] });
      }
      const forward = [await forwardThroughput(session, probeBatches, backend.backend)];
      if (config.ortBaseline && onnx) forward.push(await ortForwardThroughput(onnx, probeBatches, backend.wasmThreads ?? navigator.hardwareConcurrency));
      for (const f of forward) emit({ type: 'log', message: `forward only, ${f.engine} ${f.backend}: ${f.imagesPerSec.toFixed(1)} images/s (first batch ${f.firstBatchMs.toFixed(0)} ms)` });

      const createAdapter = async (method: string, seed: number): Promise<Adapter> => {
        const ctx: MethodContext = { seed, dataset: config.model.methodDefaults };
        if (methodInfo(method).needsSourceData) {
          if (!data.clean) throw new Error(`${method} needs clean source images (Fisher information); data set ${config.dataset.kind} has none`);
          ctx.sourceData = data.clean;
        }
        // Guard rails roll back non-finite steps; a collapse is counted, not reset (that would change the method).
        await session.setMethod((model) => createBenchMethod(method, model, ctx, config.overrides[method]), { collapse: { action: 'report' } });
        return {
          reset: async () => session.resetMethod(),
          step: async (images) => {
            const out = await session.step(images);
            const collapses = session.takeGuardEvents().filter((e) => e.kind === 'collapse').length;
            // Methods without their own outlier score are ranked by the entropy of their prediction.
            return { labels: out.labels, outlierScore: out.outlierScore ?? out.entropy, nonFinite: out.nonFinite, stats: { ...out.stats, guardCollapses: collapses } };
          },
          memory: async () => session.memory(),
          save: async () => encodeCheckpoint(await session.exportMethodCheckpoint()),
          restore: async (state) => session.importMethodCheckpoint(decodeCheckpoint(state)),
        };
      };
      const segmentation = config.model.task === 'segmentation' ? { numClasses: config.model.numClasses, ignoreLabel: config.model.ignoreLabel } : undefined;
      await runProtocol(config, { data, createAdapter, emit, done: new Set(done), checkpoints: new Map(checkpoints), segmentation });
      return { modelHash: info.hash, backend, forward };
    } finally {
      session.dispose();
    }
  },
};

export type BenchWorkerApi = typeof api;

Comlink.expose(api);
