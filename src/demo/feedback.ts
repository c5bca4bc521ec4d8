/**
 * Human feedback for an adapting classifier, in the spirit of active / binary-feedback TTA
 * (SimATTA, BiTTA): a person labels a few images ("this is a cat") or marks a prediction
 * right or wrong. The images are kept in a small FIFO buffer and, after each unsupervised
 * method step, one extra gradient step is taken on
 *   mean over labelled items of  CE = -log p_y
 *   mean over "not class y" items of complementary CE = -log(1 - p_y)
 * over the same parameters the method adapts (norm affine by default). The buffer images
 * are forwarded together with the current batch so batch-statistics norm layers normalise
 * them with statistics of the live domain, as the method's own forward did.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, NormLayer, NormMode, ParamSetName } from '../model/types.ts';
import { createOptimizer, type Optimizer, type OptimizerConfig } from '../methods/shared/optim.ts';
import { readScalar } from '../methods/shared/tensors.ts';

export type FeedbackMark =
  /** The true class is `cls` (a given label, or a prediction marked right). */
  | { kind: 'label'; cls: number }
  /** The image is not of class `cls` (a prediction marked wrong). */
  | { kind: 'not'; cls: number };

export interface FeedbackItem {
  /** HWC RGB in [0, 1] at the model's input size. */
  image: Float32Array;
  mark: FeedbackMark;
}

export interface FeedbackOptions {
  capacity: number;
  /** Multiplies the feedback loss (relative weight against the method's own loss). */
  weight: number;
  params: ParamSetName;
  optimizer: OptimizerConfig;
}

export const FEEDBACK_DEFAULTS: FeedbackOptions = {
  capacity: 32,
  weight: 1,
  params: 'norm-affine',
  optimizer: { kind: 'adam', lr: 1e-3 },
};

export interface FeedbackStats {
  /** Feedback loss before the update (NaN when the buffer is empty and no step ran). */
  loss: number;
  labelled: number;
  negatives: number;
}

/** Feedback losses per item from logits [M, C]: CE for labels, -log(1 - p) for "not" marks. */
export function feedbackLoss(logits: tf.Tensor2D, marks: readonly FeedbackMark[]): tf.Scalar {
  const [m, c] = logits.shape;
  if (marks.length !== m) throw new Error(`feedbackLoss: ${marks.length} marks for ${m} logit rows`);
  marks.forEach((mk, i) => {
    if (!Number.isInteger(mk.cls) || mk.cls < 0 || mk.cls >= c) {
      throw new Error(`feedback item ${i}: class ${mk.cls} is outside 0..${c - 1}`);
    }
  });
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    const onehot = tf.oneHot(
      tf.tensor1d(marks.map((mk) => mk.cls), 'int32'),
      c,
    );
    const logpY = tf.sum(tf.mul(onehot, logp), -1);
    // log(1 - p_y) = log(sum_{k != y} p_k) = logsumexp over the other classes (stable when p_y -> 1).
    const others = tf.add(logp, tf.mul(onehot, -1e9));
    const log1mP = tf.logSumExp(others, -1);
    const isLabel = tf.tensor1d(marks.map((mk) => (mk.kind === 'label' ? 1 : 0)), 'float32');
    const perItem = tf.neg(tf.add(tf.mul(isLabel, logpY), tf.mul(tf.sub(1, isLabel), log1mP)));
    return tf.mean(perItem) as tf.Scalar;
  });
}

export class FeedbackBuffer {
  private items: FeedbackItem[] = [];

  constructor(
    readonly capacity: number,
    readonly imageSize: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`feedback capacity must be a positive integer, got ${capacity}`);
  }

  add(item: FeedbackItem): void {
    if (item.image.length !== this.imageSize) {
      throw new Error(`feedback image has ${item.image.length} values, the model input needs ${this.imageSize}`);
    }
    for (let i = 0; i < item.image.length; i++) {
      const v = item.image[i]!;
      if (!(v >= 0 && v <= 1)) throw new Error(`feedback image value ${v} at index ${i} is outside [0, 1]`);
    }
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  get size(): number {
    return this.items.length;
  }

  snapshot(): readonly FeedbackItem[] {
    return this.items.slice();
  }

  clear(): void {
    this.items = [];
  }
}

/** Forward without mutating stored statistics: 'ema' layers normalise with batch statistics for this pass. */
function withoutStatUpdates<T>(norms: readonly NormLayer[], run: () => T): T {
  const saved: NormMode[] = norms.map((n) => n.mode);
  norms.forEach((n) => {
    if (n.mode.kind === 'ema') n.mode = { kind: 'batch' };
  });
  try {
    return run();
  } finally {
    norms.forEach((n, i) => (n.mode = saved[i]!));
  }
}

export class FeedbackTrainer {
  readonly buffer: FeedbackBuffer;
  private readonly optimizer: Optimizer;
  private readonly vars: tf.Variable[];
  private readonly opts: FeedbackOptions;

  constructor(
    private readonly model: AdaptableModel,
    options: Partial<FeedbackOptions> = {},
  ) {
    if (model.info.task !== 'classification') throw new Error(`feedback needs a classifier; model '${model.info.name}' is ${model.info.task}`);
    this.opts = { ...FEEDBACK_DEFAULTS, ...options };
    const [h, w, c] = model.info.inputShape;
    this.buffer = new FeedbackBuffer(this.opts.capacity, h * w * c);
    this.vars = model.parameters(this.opts.params);
    this.optimizer = createOptimizer(this.vars, this.opts.optimizer);
  }

  /**
   * One gradient step on the buffered feedback, forwarded with `context` (the current
   * batch, RGB [0, 1] NHWC; may be null). No-op when the buffer is empty.
   */
  async step(context: tf.Tensor4D | null): Promise<FeedbackStats> {
    const items = this.buffer.snapshot();
    const labelled = items.filter((it) => it.mark.kind === 'label').length;
    if (items.length === 0) return { loss: NaN, labelled: 0, negatives: 0 };
    const [h, w, c] = this.model.info.inputShape;
    const marks = items.map((it) => it.mark);
    const lossValue = tf.tidy(() => {
      const fb = tf.tensor4d(concatImages(items), [items.length, h, w, c]);
      const x = context ? tf.concat([context, fb], 0) : fb;
      const offset = context ? context.shape[0] : 0;
      const { value, grads } = tf.variableGrads(
        () =>
          withoutStatUpdates(this.model.norms, () => {
            const logits = this.model.forward(x).logits as tf.Tensor2D;
            const rows = tf.slice(logits, [offset, 0], [items.length, logits.shape[1]]);
            return tf.mul(feedbackLoss(rows, marks), this.opts.weight) as tf.Scalar;
          }),
        this.vars,
      );
      this.optimizer.step(this.vars.map((v) => grads[v.name]!));
      return value;
    });
    const loss = await readScalar(lossValue);
    return { loss, labelled, negatives: items.length - labelled };
  }

  /** Forget the feedback and the optimiser state (the model itself is reset by its owner). */
  reset(): void {
    this.buffer.clear();
    this.optimizer.reset();
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

function concatImages(items: readonly FeedbackItem[]): Float32Array {
  const size = items[0]!.image.length;
  const out = new Float32Array(items.length * size);
  items.forEach((it, i) => out.set(it.image, i * size));
  return out;
}
