/// <reference lib="webworker" />
/**
 * The runtime's module Web Worker: a TTASession exposed with Comlink. Errors thrown here
 * reach the caller as rejected promises with the same message; the worker stays usable.
 */
import * as Comlink from 'comlink';
import { TTASession, type ModelSource, type LoadOptions, type LaneConfig } from '../src/runtime/session.ts';
import { fetchOverlays, type CorruptionSpec } from '../src/demo/simulate.ts';
import type { FeedbackMark } from '../src/demo/feedback.ts';
import type { AdaptedState } from '../src/demo/persist.ts';
import type { BackendChoice } from '../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../src/runtime/wasm-paths.ts';
import { bitmapsToBatch, type ImageBatch } from '../src/runtime/images.ts';
import { holdLifeLock, simulateFault, watchDeviceLoss } from '../src/runtime/resilient-worker.ts';

const session = new TTASession();
// Frost overlays as served from public/corruptions/: under the site root in the app (base '/'),
// next to this worker in the components bundle (base './', see vite.components.config.ts).
const overlays = fetchOverlays(new URL(`${import.meta.env.BASE_URL}corruptions/`, self.location.href).href);

const api = {
  init: async (backend: BackendChoice = 'auto') => {
    const info = await session.init(backend, { wasmPaths: TFJS_WASM_PATHS });
    watchDeviceLoss();
    return info;
  },
  loadModel: (source: ModelSource, opts: LoadOptions) => session.loadModel(source, opts),
  predict: (batch: ImageBatch) => session.predict(batch),
  /** Images arrive as transferred ImageBitmaps and are resized to the model input here. */
  predictBitmaps: async (bitmaps: ImageBitmap[], height: number, width: number) => {
    try {
      return await session.predict(bitmapsToBatch(bitmaps, height, width));
    } finally {
      bitmaps.forEach((b) => b.close());
    }
  },
  normStats: () => session.normStats(),
  startLanes: (config: LaneConfig) => session.startLanes(config),
  /** Corrupted pixels (when a corruption is given) come back transferred. */
  stepLanes: async (batch: ImageBatch, corruption?: CorruptionSpec) => {
    const out = await session.stepLanes(batch, corruption, overlays);
    const buffers = [...Object.values(out.lanes).flatMap((l) => [l.probs.buffer, l.labels.buffer]), ...(out.images ? [out.images.data.buffer] : [])];
    return Comlink.transfer(out, buffers as ArrayBuffer[]);
  },
  addFeedback: (image: ImageBatch, mark: FeedbackMark) => session.addFeedback(image, mark),
  resetLanes: () => session.resetLanes(),
  exportState: () => session.exportState(),
  importState: (state: AdaptedState) => session.importState(state),
  memory: () => session.memory(),
  takeGuardEvents: () => session.takeGuardEvents(),
  holdLifeLock,
  simulateFault,
  dispose: () => session.dispose(),
};

export type RuntimeWorkerApi = typeof api;

Comlink.expose(api);
