/**
 * Shared base of <tta-classifier> and <tta-segmenter>: a custom element (shadow DOM, no
 * framework) that owns one runtime worker, loads a shipped model, adapts it with a TTA
 * method on frames from a camera, a video or the caller, and reports through events:
 *   'ready'      {backend, model, classes}
 *   'prediction' TTAStepDetail (per-lane predictions and summaries, the pixels the model saw)
 *   'adaptation' {steps, stats, feedback, ms, imagesPerSecond}
 *   'error'      {message}
 *   'restart'    RestartEvent (the worker ended and was restarted with the last saved state)
 * All model work runs in the worker; the main thread only draws frames and results.
 */
import { RuntimeClient, WorkerStoppedError, type RestartEvent } from '../runtime/client.ts';
import type { BackendChoice, BackendInfo } from '../runtime/backend.ts';
import type { LaneName, LanePrediction, LaneStep } from '../demo/lanes.ts';
import type { FeedbackMark } from '../demo/feedback.ts';
import { deleteState, loadState, saveState, validateState, type AdaptedState } from '../demo/persist.ts';
import { summarize, type BatchSummary } from '../demo/stats.ts';
import type { CorruptionSpec } from '../demo/simulate.ts';
import type { ModelCard } from '../model/cards.ts';
import type { ModelInfo } from '../model/types.ts';
import { datasetOf, fetchShippedModel } from './catalog.ts';

export interface TTAStepDetail {
  step: LaneStep;
  summaries: Partial<Record<LaneName, BatchSummary>>;
  /** The uint8 NHWC pixels the model saw (after the simulated corruption). */
  images: Uint8Array;
  shape: [number, number, number, number];
  labels?: ArrayLike<number>;
}

/** ms between captured frames unless `frame-interval` says otherwise (see frameInterval). */
const DEFAULT_FRAME_INTERVAL = 250;

const STYLE = `
:host { display: inline-block; font: 13px/1.4 system-ui, sans-serif; color: #1d2533; }
.wrap { display: flex; flex-direction: column; gap: 6px; }
.view { position: relative; background: #10141c; border-radius: 6px; overflow: hidden; aspect-ratio: 4 / 3; }
.view canvas, .view video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
video { visibility: hidden; }
.out { display: grid; grid-template-columns: auto 1fr; gap: 2px 8px; }
.lane { color: #5b6577; }
.status { color: #5b6577; font-size: 12px; }
.error { color: #b3261e; }
`;

export abstract class TTAElement extends HTMLElement {
  static get observedAttributes(): string[] {
    return ['model', 'method', 'backend', 'source', 'batch-size'];
  }

  /** Set to apply a simulated corruption to every frame before the model sees it. */
  corruption: { name: string; severity: number } | null = null;
  backendInfo: BackendInfo | undefined;
  card: ModelCard | undefined;
  modelInfo: ModelInfo | undefined;

  protected readonly root: ShadowRoot;
  protected readonly frameCanvas: HTMLCanvasElement;
  protected readonly outEl: HTMLDivElement;
  private readonly statusEl: HTMLDivElement;
  private readonly video: HTMLVideoElement;
  private client: RuntimeClient | undefined;
  private readyPromise: Promise<void> | undefined;
  private running = false;
  /** Counts start() and stop() calls: a capture loop or a pending start() runs only while its own count is current. */
  private capture = 0;
  private frame = 0;
  private busy: Promise<unknown> = Promise.resolve();
  private rate = { images: 0, ms: 0 };

  protected abstract readonly defaultModel: string;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    const wrap = document.createElement('div');
    wrap.className = 'wrap';
    const view = document.createElement('div');
    view.className = 'view';
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.frameCanvas = document.createElement('canvas');
    view.append(this.video, this.frameCanvas);
    this.outEl = document.createElement('div');
    this.outEl.className = 'out';
    this.statusEl = document.createElement('div');
    this.statusEl.className = 'status';
    this.statusEl.textContent = 'loading...';
    wrap.append(view, this.outEl, this.statusEl);
    this.root.append(style, wrap);
  }

  get batchSize(): number {
    const n = Number(this.getAttribute('batch-size') ?? 8);
    return Number.isInteger(n) && n > 0 ? n : 8;
  }

  /**
   * Milliseconds between the frames of one camera/video batch. Successive frames are nearly the
   * same image, and methods that normalise with batch statistics break on a batch of one image.
   */
  get frameInterval(): number {
    const ms = Number(this.getAttribute('frame-interval') ?? DEFAULT_FRAME_INTERVAL);
    return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_FRAME_INTERVAL;
  }

  get method(): string {
    return this.getAttribute('method') ?? 'tent';
  }

  /** Resolves when the model is loaded and the method started; rejects with the load error. */
  whenReady(): Promise<void> {
    this.readyPromise ??= this.setup();
    return this.readyPromise;
  }

  connectedCallback(): void {
    this.whenReady().then(
      () => {
        const source = this.getAttribute('source');
        // A failure (e.g. camera permission denied) is reported by the 'error' event.
        if (source && source !== 'images') this.start().catch(() => undefined);
      },
      () => undefined,
    );
  }

  /** Leaving the document ends the runtime worker; coming back starts a fresh one. */
  disconnectedCallback(): void {
    this.stop();
    const client = this.client;
    this.client = undefined;
    this.readyPromise = undefined;
    void this.busy.then(() => client?.dispose());
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || !this.readyPromise) return;
    if (name === 'method') {
      this.readyPromise = this.queue(() => this.startMethod());
    } else if (name === 'model' || name === 'backend') {
      this.stop();
      void this.client?.dispose();
      this.client = undefined;
      this.readyPromise = this.setup();
    } else if (name === 'source' && this.running) {
      this.stop();
      this.start().catch(() => undefined);
    }
  }

  private fail(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    this.statusEl.textContent = message;
    this.statusEl.className = 'status error';
    this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
    return err instanceof Error ? err : new Error(message);
  }

  private async setup(): Promise<void> {
    try {
      this.client = new RuntimeClient({ onRestart: (e) => this.restarted(e) });
      this.backendInfo = await this.client.init((this.getAttribute('backend') ?? 'auto') as BackendChoice);
      const name = this.getAttribute('model') ?? this.defaultModel;
      const { card, source } = await fetchShippedModel(name);
      const expected = this.constructor === customElements.get('tta-segmenter') ? 'segmentation' : 'classification';
      if (card.task !== expected) throw new Error(`model '${name}' is a ${card.task} model; <${this.localName}> needs ${expected}`);
      this.card = card;
      this.modelInfo = await this.client.loadModel(source, { name: card.name, task: card.task, inputShape: [card.input.height, card.input.width, 3] });
      await this.startMethod();
      this.dispatchEvent(new CustomEvent('ready', { detail: { backend: this.backendInfo, model: card.name, classes: card.classNames } }));
    } catch (err) {
      throw this.fail(err);
    }
  }

  private restarted(event: RestartEvent): void {
    this.statusEl.className = 'status';
    const restored = event.restoredSteps === null ? 'no saved state' : `state of step ${event.restoredSteps} restored`;
    this.statusEl.textContent = `runtime restarted on ${event.backend} (${event.reason}); ${restored}`;
    this.dispatchEvent(new CustomEvent('restart', { detail: event }));
  }

  private async startMethod(): Promise<void> {
    await this.requireClient().startLanes({ method: this.method, dataset: datasetOf(this.card!), compareSource: !this.hasAttribute('no-source') });
    this.rate = { images: 0, ms: 0 };
    this.showStatus(0);
  }

  private requireClient(): RuntimeClient {
    if (!this.client) throw new Error(`<${this.localName}>: not initialised (not in the document yet?)`);
    return this.client;
  }

  /** Runtime calls one at a time, in order (frames, feedback, reset never interleave). */
  private queue<T>(run: () => Promise<T>): Promise<T> {
    const next = this.busy.then(run, run);
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** Draw frames at the model's input size into one uint8 NHWC batch. */
  protected toBatch(frames: readonly CanvasImageSource[]): { data: Uint8Array; shape: [number, number, number, number] } {
    const { height: h, width: w } = this.card!.input;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const out = new Uint8Array(frames.length * h * w * 3);
    frames.forEach((f, i) => {
      ctx.drawImage(f, 0, 0, w, h);
      const rgba = ctx.getImageData(0, 0, w, h).data;
      for (let p = 0; p < h * w; p++) {
        out[(i * h * w + p) * 3] = rgba[4 * p]!;
        out[(i * h * w + p) * 3 + 1] = rgba[4 * p + 1]!;
        out[(i * h * w + p) * 3 + 2] = rgba[4 * p + 2]!;
      }
    });
    return { data: out, shape: [frames.length, h, w, 3] };
  }

  /**
   * Predict and adapt on frames (images, canvases, video frames, ImageBitmaps) or on a
   * ready uint8 NHWC batch at the model's input size; `labels` (when known) feed accuracy.
   */
  async feed(
    frames: readonly CanvasImageSource[] | { data: Uint8Array; shape: [number, number, number, number] },
    labels?: ArrayLike<number>,
  ): Promise<TTAStepDetail> {
    await this.whenReady();
    const batch = Array.isArray(frames) ? this.toBatch(frames) : (frames as { data: Uint8Array; shape: [number, number, number, number] });
    const keep = batch.data.slice();
    const corruption: CorruptionSpec | undefined = this.corruption ? { ...this.corruption, seed: 0, frame: this.frame } : undefined;
    this.frame++;
    try {
      const step = await this.queue(() => this.requireClient().stepLanes(batch, corruption));
      const images = (step.images?.data as Uint8Array | undefined) ?? keep;
      const classes = this.card!.output.classes;
      const summaries: TTAStepDetail['summaries'] = {};
      for (const [lane, pred] of Object.entries(step.lanes) as [LaneName, LanePrediction][]) {
        summaries[lane] = summarize(pred.probs, classes, labels);
      }
      const detail: TTAStepDetail = { step, summaries, images, shape: batch.shape, labels };
      this.rate.images += batch.shape[0];
      this.rate.ms += step.ms;
      this.render(detail);
      this.showStatus(step.steps);
      this.dispatchEvent(new CustomEvent('prediction', { detail }));
      this.dispatchEvent(
        new CustomEvent('adaptation', {
          detail: { steps: step.steps, stats: step.stats, feedback: step.feedback, ms: step.ms, imagesPerSecond: this.imagesPerSecond },
        }),
      );
      return detail;
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Whether a runtime worker that ends now is restarted (see RuntimeClient). */
  get willRestart(): boolean {
    return this.client?.willRestart ?? false;
  }

  get imagesPerSecond(): number {
    return this.rate.ms > 0 ? (1000 * this.rate.images) / this.rate.ms : 0;
  }

  private showStatus(steps: number): void {
    const b = this.backendInfo;
    const threads = b?.backend === 'wasm' ? ` x${b.wasmThreads}` : '';
    this.statusEl.className = 'status';
    this.statusEl.textContent = `${this.card?.name ?? ''} · ${this.method} · ${b?.backend ?? '?'}${threads} · ${steps} steps · ${this.imagesPerSecond.toFixed(1)} img/s`;
  }

  /** Draw the result of one step (subclasses: labels or a segmentation overlay). */
  protected abstract render(detail: TTAStepDetail): void;

  /**
   * Capture from the `source` attribute: 'camera' or a video URL; `batch-size` frames per step,
   * `frame-interval` ms apart.
   */
  async start(): Promise<void> {
    if (this.running) return;
    // A stop() (or a newer start()) while this one awaits below makes it give up.
    const token = ++this.capture;
    await this.whenReady();
    if (token !== this.capture) return;
    const source = this.getAttribute('source') ?? 'camera';
    try {
      this.release();
      if (source === 'camera') {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
        if (token !== this.capture) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        this.video.srcObject = stream;
      } else {
        this.video.src = source;
        this.video.loop = true;
      }
      await this.video.play();
    } catch (err) {
      // A stop() meanwhile aborts play(): not an error.
      if (token !== this.capture) return;
      throw this.fail(new Error(`cannot open source '${source}': ${err instanceof Error ? err.message : String(err)}`));
    }
    if (token !== this.capture) return;
    this.running = true;
    void this.loop(token);
  }

  stop(): void {
    this.capture++;
    this.running = false;
    this.release();
    this.video.pause();
  }

  /** Stop and detach the camera stream of the last start(). */
  private release(): void {
    const stream = this.video.srcObject as MediaStream | null;
    stream?.getTracks().forEach((t) => t.stop());
    this.video.srcObject = null;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private async loop(token: number): Promise<void> {
    const live = () => this.running && token === this.capture;
    while (live()) {
      const frames: ImageBitmap[] = [];
      for (let i = 0, n = this.batchSize; i < n && live(); i++) {
        if (i > 0) {
          // At least one new video frame, and `frame-interval` ms since the last capture.
          const due = performance.now() + this.frameInterval;
          await new Promise((r) => requestAnimationFrame(r));
          const left = due - performance.now();
          if (left > 0) await new Promise((r) => setTimeout(r, left));
          if (!live()) break;
        }
        frames.push(await createImageBitmap(this.video));
      }
      if (!live()) {
        frames.forEach((f) => f.close());
        break;
      }
      try {
        await this.feed(frames);
      } catch (err) {
        // A crashed worker is restarted by the client: keep capturing.
        if (!(err instanceof WorkerStoppedError && this.client?.willRestart) && token === this.capture) this.running = false;
      } finally {
        frames.forEach((f) => f.close());
      }
    }
  }

  /** Back to the source model (method state and feedback forgotten). */
  async reset(): Promise<void> {
    await this.whenReady();
    await this.queue(() => this.requireClient().resetLanes());
    this.rate = { images: 0, ms: 0 };
    this.showStatus(0);
  }

  /** Human feedback on one image the model saw (uint8 HWC at input size, e.g. from a 'prediction' event). */
  async feedback(image: Uint8Array, mark: FeedbackMark): Promise<number> {
    await this.whenReady();
    const { height: h, width: w } = this.card!.input;
    return this.queue(() => this.requireClient().addFeedback({ data: image.slice(), shape: [1, h, w, 3] }, mark));
  }

  async exportState(): Promise<AdaptedState> {
    await this.whenReady();
    return this.queue(() => this.requireClient().exportState());
  }

  async importState(state: AdaptedState): Promise<void> {
    await this.whenReady();
    validateState(state, 'importState');
    await this.queue(() => this.requireClient().importState(state));
  }

  /** Save the adapted state in IndexedDB (one record per model). */
  async saveState(): Promise<AdaptedState> {
    const state = await this.exportState();
    await saveState(state);
    return state;
  }

  /** Restore the saved state of this model; false when none is saved. */
  async restoreState(): Promise<boolean> {
    await this.whenReady();
    const saved = await loadState(this.modelInfo!.name, this.modelInfo!.hash);
    if (!saved) return false;
    await this.importState(saved);
    return true;
  }

  async forgetState(): Promise<void> {
    await this.whenReady();
    await deleteState(this.modelInfo!.name, this.modelInfo!.hash);
  }
}
