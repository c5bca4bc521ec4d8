/**
 * Side-by-side runs for the demo and the web components, inside the runtime worker:
 * - "adapted": the TTA method on the model (plus human feedback steps, when given);
 * - "source": a frozen copy in eval mode, the baseline adaptation should beat;
 * - "unsupervised": from the first feedback on, a twin running the same method without
 *   feedback, so the effect of the feedback alone is visible.
 * Every lane sees the same batch; predictions come back as plain typed arrays.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import type { MethodState, TTAMethod } from '../methods/types.ts';
import { FeedbackTrainer, type FeedbackMark, type FeedbackOptions, type FeedbackStats } from './feedback.ts';
import type { TensorRecord } from './persist.ts';
import { exportModelValues, importModelValues } from '../runtime/resilient-state.ts';

export type LaneName = 'adapted' | 'source' | 'unsupervised';

export interface LanePrediction {
  /** Probabilities, row-major with `shape` ([N, C] or [N, H, W, C]). */
  probs: Float32Array;
  shape: number[];
  labels: Int32Array;
}

export interface LaneStep {
  lanes: Partial<Record<LaneName, LanePrediction>>;
  /** The method's own scalars (loss, selected samples...). */
  stats: Record<string, number>;
  feedback?: FeedbackStats;
  steps: number;
  ms: number;
}

export type MethodMaker = (model: AdaptableModel) => Promise<TTAMethod> | TTAMethod;

export interface LaneOptions {
  compareSource: boolean;
  feedback?: Partial<FeedbackOptions>;
}

async function toPrediction(probs: tf.Tensor): Promise<LanePrediction> {
  const labels = tf.argMax(probs, -1);
  const [p, l] = await Promise.all([probs.data() as Promise<Float32Array>, labels.data() as Promise<Int32Array>]);
  const shape = probs.shape.slice();
  labels.dispose();
  return { probs: p, shape, labels: l };
}

export class LaneRunner {
  private readonly source: AdaptableModel | undefined;
  private feedback: FeedbackTrainer | undefined;
  private twin: { model: AdaptableModel; method: TTAMethod } | undefined;
  private steps = 0;

  private constructor(
    private readonly model: AdaptableModel,
    private readonly method: TTAMethod,
    private readonly makeMethod: MethodMaker,
    private readonly opts: LaneOptions,
  ) {
    if (opts.compareSource) {
      this.source = model.clone();
      this.source.setNormMode({ kind: 'running' });
    }
  }

  /** Takes ownership of neither the model nor its method's model: dispose() frees only the copies it made. */
  static async create(model: AdaptableModel, makeMethod: MethodMaker, opts: LaneOptions): Promise<LaneRunner> {
    return new LaneRunner(model, await makeMethod(model), makeMethod, opts);
  }

  get methodName(): string {
    return this.method.name;
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Predict with every lane and adapt on `images` (RGB [0, 1], NHWC); the caller keeps `images`. */
  async step(images: tf.Tensor4D): Promise<LaneStep> {
    const t0 = performance.now();
    const lanes: LaneStep['lanes'] = {};
    if (this.source) {
      const probs = tf.tidy(() => tf.softmax(this.source!.forward(images).logits));
      lanes.source = await toPrediction(probs);
      probs.dispose();
    }
    const result = await this.method.step(images);
    lanes.adapted = await toPrediction(result.probs);
    result.probs.dispose();
    result.outlierScore?.dispose();
    let feedback: FeedbackStats | undefined;
    if (this.feedback && this.feedback.buffer.size > 0) feedback = await this.feedback.step(images);
    if (this.twin) {
      const t = await this.twin.method.step(images);
      lanes.unsupervised = await toPrediction(t.probs);
      t.probs.dispose();
      t.outlierScore?.dispose();
    }
    this.steps++;
    return { lanes, stats: result.stats, feedback, steps: this.steps, ms: performance.now() - t0 };
  }

  /** Queue a human mark on an image (HWC RGB in [0, 1] at the model input size). */
  async addFeedback(image: Float32Array, mark: FeedbackMark): Promise<number> {
    if (!this.feedback) this.feedback = new FeedbackTrainer(this.model, this.opts.feedback);
    this.feedback.buffer.add({ image, mark });
    if (!this.twin) {
      // The twin starts from the adapted state as it is now: from here on, lanes differ only by feedback.
      const model = this.model.clone();
      this.twin = { model, method: await this.makeMethod(model) };
    }
    return this.feedback.buffer.size;
  }

  /** Back to the source model: method reset, feedback forgotten, twin dropped. */
  reset(): void {
    this.method.reset();
    this.feedback?.reset();
    this.disposeTwin();
    this.steps = 0;
  }

  /** The adapting method's own state (optimiser step and slots), when it can export it; copies the caller disposes. */
  exportMethodState(): MethodState | undefined {
    return this.method.exportState?.();
  }

  /** Write back a state from exportMethodState() (copied); call after importValues(). */
  importMethodState(state: MethodState): void {
    if (!this.method.importState) throw new Error(`method '${this.method.name}' cannot import a saved method state`);
    this.method.importState(state);
  }

  /** Values of every parameter and norm statistic of the adapted model, in snapshot order. */
  exportValues(): Promise<TensorRecord[]> {
    return exportModelValues(this.model);
  }

  /** Write exported values back; count and shapes must match this model's snapshot order. */
  importValues(values: readonly TensorRecord[], steps: number): void {
    importModelValues(this.model, values);
    this.disposeTwin();
    this.feedback?.reset();
    this.steps = steps;
  }

  private disposeTwin(): void {
    this.twin?.method.dispose();
    this.twin?.model.dispose();
    this.twin = undefined;
  }

  dispose(): void {
    this.disposeTwin();
    this.feedback?.dispose();
    this.method.dispose();
    this.source?.dispose();
  }
}
