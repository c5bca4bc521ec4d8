/**
 * What the demo plots per batch, computed from the probabilities the runtime returns:
 * mean entropy, mean confidence (max probability), predicted-class histogram and, when
 * labels are known, the number correct. The last axis of `probs` is the class axis, so
 * classification [N, C] and segmentation [N, H, W, C] (per pixel) share one code path.
 */
export interface BatchSummary {
  /** Samples (images or pixels) summarised. */
  count: number;
  meanEntropy: number;
  meanConfidence: number;
  /** Predicted-class counts, length C. */
  classCounts: number[];
  /** Correct predictions among samples with a valid label; absent without labels. */
  correct?: number;
  labelled?: number;
}

/**
 * @param labels true class per sample; values outside 0..C-1 (e.g. CamVid's void = 11)
 *   are ignored for accuracy.
 */
export function summarize(probs: Float32Array, classes: number, labels?: ArrayLike<number>): BatchSummary {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`class count must be a positive integer, got ${classes}`);
  if (probs.length % classes !== 0) throw new Error(`probabilities (${probs.length} values) are not a multiple of ${classes} classes`);
  const count = probs.length / classes;
  if (labels && labels.length !== count) throw new Error(`${labels.length} labels for ${count} predictions`);
  const classCounts = new Array<number>(classes).fill(0);
  let entropy = 0;
  let confidence = 0;
  let correct = 0;
  let labelled = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    let bestP = -1;
    let h = 0;
    for (let k = 0; k < classes; k++) {
      const p = probs[i * classes + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
      if (p > 0) h -= p * Math.log(p);
    }
    classCounts[best]!++;
    entropy += h;
    confidence += bestP;
    if (labels) {
      const y = labels[i]!;
      if (y >= 0 && y < classes) {
        labelled++;
        if (y === best) correct++;
      }
    }
  }
  const out: BatchSummary = { count, meanEntropy: entropy / count, meanConfidence: confidence / count, classCounts };
  if (labels) {
    out.correct = correct;
    out.labelled = labelled;
  }
  return out;
}

/** Fixed-length history of one plotted quantity (oldest dropped first). */
export class Series {
  private values: number[] = [];

  constructor(readonly capacity: number) {}

  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.capacity) this.values.shift();
  }

  get data(): readonly number[] {
    return this.values;
  }

  clear(): void {
    this.values = [];
  }
}

/** Accuracy over the last `window` labelled samples, from per-batch (correct, labelled) pairs. */
export class WindowAccuracy {
  private batches: { correct: number; labelled: number }[] = [];

  constructor(readonly window: number) {}

  add(correct: number, labelled: number): number {
    this.batches.push({ correct, labelled });
    let total = this.batches.reduce((s, b) => s + b.labelled, 0);
    while (this.batches.length > 1 && total - this.batches[0]!.labelled >= this.window) {
      total -= this.batches.shift()!.labelled;
    }
    return this.value;
  }

  get value(): number {
    const labelled = this.batches.reduce((s, b) => s + b.labelled, 0);
    return labelled === 0 ? NaN : this.batches.reduce((s, b) => s + b.correct, 0) / labelled;
  }

  clear(): void {
    this.batches = [];
  }
}
