/**
 * Page-side handle on the runtime worker: typed, async, typed arrays and ImageBitmaps
 * transferred (not copied) into the worker - and it survives its worker. When the worker
 * ends (crash, terminate(), a lost WebGPU device), the calls in flight reject with a
 * WorkerStoppedError, a new worker starts - on the next backend when the GPU was lost - and
 * the backend, model, lanes and the last saved adapted state are put back; every restart is
 * reported. With `maxRestarts: 0` nothing restarts, and every call after the end rejects.
 *
 * Death is noticed through a Web Lock the worker holds for its whole life (see
 * resilient-worker.ts): without it a call to a dead worker would never settle. Calls are
 * serialised, so a checkpoint never sees half a step.
 */
import * as Comlink from 'comlink';
import type { RuntimeWorkerApi } from '../../workers/runtime.worker.ts';
import type { ImageBatch } from './images.ts';
import type { BackendChoice, BackendInfo, BackendName } from './backend.ts';
import type { LaneConfig, LoadOptions, ModelSource, NormStats, Prediction, RuntimeMemory } from './session.ts';
import type { CorruptionSpec } from '../demo/simulate.ts';
import type { LaneStep } from '../demo/lanes.ts';
import type { FeedbackMark } from '../demo/feedback.ts';
import type { AdaptedState } from '../demo/persist.ts';
import type { ModelInfo } from '../model/types.ts';
import type { GuardEvent } from '../methods/guard.ts';
import { isFatalMessage } from './fatal.ts';

export interface RestartEvent {
  /** Why the old worker ended. */
  reason: string;
  /** Backend of the new worker (differs from the old one after a lost GPU). */
  backend: BackendName;
  /** Steps of the adapted state put back (null: no lanes were running or no state was saved yet). */
  restoredSteps: number | null;
  /** Restart duration. */
  ms: number;
  /** 1 for the first restart of this client. */
  count: number;
}

export interface RuntimeClientOptions {
  /** Save the adapted state every N lane steps (default 10); 0: only on checkpoint(). */
  checkpointEvery?: number;
  /** Give up after this many restarts (default 5): a worker that dies every time should not loop; 0: never restart. */
  maxRestarts?: number;
  onRestart?: (event: RestartEvent) => void;
  /** Backends to try after a WebGPU device loss, in order (default wasm, then cpu). */
  fallbackBackends?: BackendName[];
  /** Builds the worker (tests); the name must reach the worker (it names the life lock). */
  createWorker?: (name: string) => Worker;
}

/** A call failed because the worker ended underneath it; the client restarts itself. */
export class WorkerStoppedError extends Error {
  override name = 'WorkerStoppedError';
}

interface Live {
  worker: Worker;
  remote: Comlink.Remote<RuntimeWorkerApi>;
  /** Resolves with the reason once this worker has ended. */
  ended: Promise<string>;
}

let nextWorkerId = 0;

const defaultWorker = (name: string) => new Worker(new URL('../../workers/runtime.worker.ts', import.meta.url), { type: 'module', name });

export class RuntimeClient {
  private live: Live | undefined;
  /** Serialises calls; a restart runs in this chain too. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly opts: Required<Omit<RuntimeClientOptions, 'onRestart'>> & Pick<RuntimeClientOptions, 'onRestart'>;
  // What a new worker needs to be put back where the old one was.
  private backendRequest: BackendChoice = 'auto';
  private backendInUse: BackendName | undefined;
  private model: { source: ModelSource; opts: LoadOptions } | undefined;
  private lanes: LaneConfig | undefined;
  private saved: AdaptedState | undefined;
  private stepsSinceSave = 0;
  private disposed = false;
  /** Set while a new worker is being brought back; later calls wait for it. */
  private restarting: Promise<void> | undefined;
  readonly restarts: RestartEvent[] = [];

  constructor(options: RuntimeClientOptions = {}) {
    this.opts = {
      checkpointEvery: options.checkpointEvery ?? 10,
      maxRestarts: options.maxRestarts ?? 5,
      fallbackBackends: options.fallbackBackends ?? ['wasm', 'cpu'],
      createWorker: options.createWorker ?? defaultWorker,
      onRestart: options.onRestart,
    };
  }

  /** The last saved adapted state (what a restart restores). */
  get lastCheckpoint(): AdaptedState | undefined {
    return this.saved;
  }

  /** Whether a worker that ends now is brought back (restarts are on and not used up). */
  get willRestart(): boolean {
    return !this.disposed && this.restarts.length < this.opts.maxRestarts;
  }

  /** For fault-injection tests: the current worker. */
  get worker(): Worker | undefined {
    return this.live?.worker;
  }

  private async spawn(): Promise<Live> {
    const name = `webtta-runtime-${Date.now()}-${nextWorkerId++}`;
    const worker = this.opts.createWorker(name);
    const remote = Comlink.wrap<RuntimeWorkerApi>(worker);
    let fatal: string | undefined;
    worker.addEventListener('message', (e: MessageEvent) => {
      if (isFatalMessage(e.data)) fatal = `${e.data.webttaFatal.kind}: ${e.data.webttaFatal.message}`;
    });
    const failedToLoad = new Promise<never>((_, reject) =>
      worker.addEventListener('error', (e) => reject(new Error(`runtime worker failed to start: ${e.message || 'script error'}`)), { once: true }),
    );
    await Promise.race([remote.holdLifeLock(), failedToLoad]);
    // Granted only when the worker's own request on the same name is released: at its end.
    const ended = navigator.locks.request(name, async (): Promise<string> => {
      // The fatal report was posted before the worker ended; let its message event run first.
      await new Promise((r) => setTimeout(r, 20));
      return fatal ?? 'the worker ended (crashed or terminated)';
    }) as unknown as Promise<string>;
    const live: Live = { worker, remote, ended };
    void ended.then(() => {
      if (this.live === live && !this.disposed) this.scheduleRestart(live);
    });
    return live;
  }

  private scheduleRestart(dead: Live): void {
    const t0 = performance.now();
    this.live = undefined;
    dead.remote[Comlink.releaseProxy]();
    dead.worker.terminate();
    this.restarting = this.restart(dead, t0);
    this.restarting.catch(() => undefined);
  }

  private async restart(dead: Live, t0: number): Promise<void> {
    const reason = await dead.ended;
    if (this.restarts.length >= this.opts.maxRestarts) {
      const why = this.opts.maxRestarts === 0 ? 'restarts are off (maxRestarts 0)' : `${this.restarts.length} restarts are used up`;
      throw new WorkerStoppedError(`the runtime worker ended (${reason}) and ${why}: not restarting`);
    }
    let backend: BackendChoice = this.backendInUse ?? this.backendRequest;
    if (reason.startsWith('device-lost') && this.backendInUse === 'webgpu') {
      backend = this.opts.fallbackBackends[0] ?? 'cpu';
    }
    this.live = await this.spawn();
    const info = await this.live.remote.init(backend);
    this.backendInUse = info.backend;
    let restoredSteps: number | null = null;
    if (this.model) await this.live.remote.loadModel(copySource(this.model.source), this.model.opts);
    if (this.lanes) {
      await this.live.remote.startLanes(this.lanes);
      if (this.saved) {
        await this.live.remote.importState(this.saved);
        restoredSteps = this.saved.steps;
      }
    }
    this.stepsSinceSave = 0;
    this.restarting = undefined;
    const event: RestartEvent = { reason, backend: info.backend, restoredSteps, ms: performance.now() - t0, count: this.restarts.length + 1 };
    this.restarts.push(event);
    this.opts.onRestart?.(event);
  }

  /** Run `fn` on the live worker after every earlier call; reject clearly if the worker ends meanwhile. */
  private call<T>(what: string, fn: (remote: Comlink.Remote<RuntimeWorkerApi>) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.disposed) throw new Error(`${what}: the runtime client is disposed`);
      if (this.restarting) {
        await this.restarting.catch((err: unknown) => {
          throw new WorkerStoppedError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
      this.live ??= await this.spawn();
      const live = this.live;
      const stopped = live.ended.then((reason) => {
        const next = this.opts.maxRestarts > 0 ? 'it is restarted with the last saved state' : 'restarts are off (maxRestarts 0)';
        throw new WorkerStoppedError(`${what}: the runtime worker ended during the call (${reason}); ${next}`);
      });
      return Promise.race([fn(live.remote), stopped]);
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  async init(backend: BackendChoice = 'auto'): Promise<BackendInfo> {
    const info = await this.call('init', (r) => r.init(backend));
    this.backendRequest = backend;
    this.backendInUse = info.backend;
    return info;
  }

  /** Keeps a copy of the model bytes (for restarts); the caller's buffer is transferred: do not use it afterwards. */
  async loadModel(source: ModelSource, opts: LoadOptions): Promise<ModelInfo> {
    const kept = copySource(source);
    const transfer = source.format === 'onnx' ? [source.bytes.buffer as ArrayBuffer] : [];
    const info = await this.call('loadModel', (r) => r.loadModel(Comlink.transfer(source, transfer), opts));
    this.model = { source: kept, opts };
    this.lanes = undefined;
    this.saved = undefined;
    return info;
  }

  /** The batch's buffer is transferred: the caller must not use it afterwards. */
  predict(batch: ImageBatch): Promise<Prediction> {
    return this.call('predict', (r) => r.predict(Comlink.transfer(batch, [batch.data.buffer as ArrayBuffer])));
  }

  /** The bitmaps are transferred and closed in the worker. */
  predictBitmaps(bitmaps: ImageBitmap[], height: number, width: number): Promise<Prediction> {
    return this.call('predictBitmaps', (r) => r.predictBitmaps(Comlink.transfer(bitmaps, bitmaps), height, width));
  }

  async startLanes(config: LaneConfig): Promise<void> {
    await this.call('startLanes', (r) => r.startLanes(config));
    this.lanes = config;
    this.saved = undefined;
    this.stepsSinceSave = 0;
  }

  /** Adapt on one batch (buffer transferred); with a corruption the corrupted pixels come back in `images`. */
  async stepLanes(batch: ImageBatch, corruption?: CorruptionSpec): Promise<LaneStep & { images?: ImageBatch }> {
    const out = await this.call('stepLanes', (r) => r.stepLanes(Comlink.transfer(batch, [batch.data.buffer as ArrayBuffer]), corruption));
    if (this.opts.checkpointEvery > 0 && ++this.stepsSinceSave >= this.opts.checkpointEvery) await this.checkpoint();
    return out;
  }

  /** Resolves when no restart is under way (after a crash, to wait for the restore). */
  async whenReady(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  /** Save the adapted state now; a restart restores the latest one. */
  async checkpoint(): Promise<AdaptedState> {
    const state = await this.call('checkpoint', (r) => r.exportState());
    this.saved = state;
    this.stepsSinceSave = 0;
    return state;
  }

  addFeedback(image: ImageBatch, mark: FeedbackMark): Promise<number> {
    return this.call('addFeedback', (r) => r.addFeedback(image, mark));
  }

  async resetLanes(): Promise<void> {
    await this.call('resetLanes', (r) => r.resetLanes());
    this.saved = undefined;
  }

  exportState(): Promise<AdaptedState> {
    return this.checkpoint();
  }

  async importState(state: AdaptedState): Promise<void> {
    await this.call('importState', (r) => r.importState(state));
    this.saved = state;
  }

  normStats(): Promise<NormStats[]> {
    return this.call('normStats', (r) => r.normStats());
  }

  memory(): Promise<RuntimeMemory> {
    return this.call('memory', (r) => r.memory());
  }

  takeGuardEvents(): Promise<GuardEvent[]> {
    return this.call('takeGuardEvents', (r) => r.takeGuardEvents());
  }

  /** Fault injection for tests: the worker ends itself, or destroys its WebGPU device. */
  simulateFault(kind: 'exit' | 'device-lost'): Promise<void> {
    return this.call('simulateFault', (r) => r.simulateFault(kind));
  }

  async dispose(): Promise<void> {
    const live = this.live;
    this.disposed = true;
    this.live = undefined;
    if (!live) return;
    await Promise.race([live.remote.dispose(), live.ended]).catch(() => undefined);
    live.remote[Comlink.releaseProxy]();
    live.worker.terminate();
  }
}

function copySource(source: ModelSource): ModelSource {
  if (source.format === 'onnx') return { format: 'onnx', bytes: source.bytes.slice() };
  return { format: 'tfjs-layers', modelJson: source.modelJson, weights: new Map([...source.weights].map(([k, v]) => [k, v.slice(0)])) };
}
