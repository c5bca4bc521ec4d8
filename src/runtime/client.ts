/**
 * Page-side handle on the runtime worker: typed, async, with typed arrays and ImageBitmaps
 * transferred (not copied) into the worker.
 */
import * as Comlink from 'comlink';
import type { RuntimeWorkerApi } from '../../workers/runtime.worker.ts';
import type { ImageBatch } from './images.ts';
import type { BackendChoice, BackendInfo } from './backend.ts';
import type { LaneConfig, LoadOptions, ModelSource, NormStats, Prediction } from './session.ts';
import type { CorruptionSpec } from '../demo/simulate.ts';
import type { LaneStep } from '../demo/lanes.ts';
import type { FeedbackMark } from '../demo/feedback.ts';
import type { AdaptedState } from '../demo/persist.ts';
import type { ModelInfo } from '../model/types.ts';

export class RuntimeClient {
  private readonly worker: Worker;
  private readonly remote: Comlink.Remote<RuntimeWorkerApi>;

  constructor() {
    this.worker = new Worker(new URL('../../workers/runtime.worker.ts', import.meta.url), { type: 'module' });
    this.remote = Comlink.wrap<RuntimeWorkerApi>(this.worker);
  }

  init(backend: BackendChoice = 'auto'): Promise<BackendInfo> {
    return this.remote.init(backend);
  }

  loadModel(source: ModelSource, opts: LoadOptions): Promise<ModelInfo> {
    const transfer = source.format === 'onnx' ? [source.bytes.buffer as ArrayBuffer] : [];
    return this.remote.loadModel(Comlink.transfer(source, transfer), opts);
  }

  /** The batch's buffer is transferred: the caller must not use it afterwards. */
  predict(batch: ImageBatch): Promise<Prediction> {
    return this.remote.predict(Comlink.transfer(batch, [batch.data.buffer as ArrayBuffer]));
  }

  /** The bitmaps are transferred and closed in the worker. */
  predictBitmaps(bitmaps: ImageBitmap[], height: number, width: number): Promise<Prediction> {
    return this.remote.predictBitmaps(Comlink.transfer(bitmaps, bitmaps), height, width);
  }

  startLanes(config: LaneConfig): Promise<void> {
    return this.remote.startLanes(config);
  }

  /** Adapt on one batch (buffer transferred); with a corruption the corrupted pixels come back in `images`. */
  stepLanes(batch: ImageBatch, corruption?: CorruptionSpec): Promise<LaneStep & { images?: ImageBatch }> {
    return this.remote.stepLanes(Comlink.transfer(batch, [batch.data.buffer as ArrayBuffer]), corruption);
  }

  addFeedback(image: ImageBatch, mark: FeedbackMark): Promise<number> {
    return this.remote.addFeedback(image, mark);
  }

  resetLanes(): Promise<void> {
    return this.remote.resetLanes();
  }

  exportState(): Promise<AdaptedState> {
    return this.remote.exportState();
  }

  importState(state: AdaptedState): Promise<void> {
    return this.remote.importState(state);
  }

  normStats(): Promise<NormStats[]> {
    return this.remote.normStats();
  }

  memory(): Promise<{ numTensors: number; numBytes: number }> {
    return this.remote.memory();
  }

  async dispose(): Promise<void> {
    await this.remote.dispose();
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
