/// <reference lib="webworker" />
/**
 * The runtime's module Web Worker: a TTASession exposed with Comlink. Errors thrown here
 * reach the caller as rejected promises with the same message; the worker stays usable.
 */
import * as Comlink from 'comlink';
import { TTASession, type ModelSource, type LoadOptions } from '../src/runtime/session.ts';
import type { BackendChoice } from '../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../src/runtime/wasm-paths.ts';
import { bitmapsToBatch, type ImageBatch } from '../src/runtime/images.ts';

const session = new TTASession();

const api = {
  init: (backend: BackendChoice = 'auto') => session.init(backend, { wasmPaths: TFJS_WASM_PATHS }),
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
  memory: () => session.memory(),
  dispose: () => session.dispose(),
};

export type RuntimeWorkerApi = typeof api;

Comlink.expose(api);
