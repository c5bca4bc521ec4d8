/**
 * Streaming classification metrics: error on known-class images and, for open-set
 * streams, AUROC of the outlier score and the H-score (STAMP protocol).
 */
import { auroc } from './auroc.ts';

export interface ClassificationSummary {
  /** Known-class (non-outlier) images seen. */
  n: number;
  correct: number;
  /** 100 * (n - correct) / n; NaN when n = 0. */
  errorPct: number;
  /** Outlier images seen (open-set streams). */
  outliers: number;
  /** AUROC (in [0, 1]) of the outlier score for outlier vs known images; only when both kinds occurred and scores were given. */
  auroc?: number;
  /** 2 * acc * AUROC / (acc + AUROC), acc and AUROC in [0, 1]. */
  hScore?: number;
}

export class ClassificationTally {
  private n = 0;
  private correct = 0;
  private readonly scores: number[] = [];
  private readonly isOutlier: boolean[] = [];

  /**
   * `outlier[i]` marks images from outside the label set (their prediction is not scored
   * for error); `outlierScore[i]` is higher for images the method thinks are outliers.
   */
  add(predicted: ArrayLike<number>, labels: ArrayLike<number>, outlier?: ArrayLike<number | boolean>, outlierScore?: ArrayLike<number>): void {
    if (predicted.length !== labels.length) {
      throw new Error(`predictions (${predicted.length}) and labels (${labels.length}) differ in length`);
    }
    if (outlier && outlier.length !== labels.length) throw new Error(`outlier flags (${outlier.length}) and labels (${labels.length}) differ in length`);
    if (outlierScore && outlierScore.length !== labels.length) {
      throw new Error(`outlier scores (${outlierScore.length}) and labels (${labels.length}) differ in length`);
    }
    for (let i = 0; i < labels.length; i++) {
      const out = outlier ? Boolean(outlier[i]) : false;
      if (!out) {
        this.n++;
        if (predicted[i] === labels[i]) this.correct++;
      }
      if (outlierScore) {
        const s = outlierScore[i]!;
        if (!Number.isFinite(s)) throw new Error(`outlier score ${s} at index ${i} is not finite`);
        this.scores.push(s);
        this.isOutlier.push(out);
      }
    }
  }

  summary(): ClassificationSummary {
    const outliers = this.isOutlier.filter(Boolean).length;
    const out: ClassificationSummary = {
      n: this.n,
      correct: this.correct,
      errorPct: this.n === 0 ? NaN : (100 * (this.n - this.correct)) / this.n,
      outliers,
    };
    if (outliers > 0 && outliers < this.isOutlier.length) {
      const a = auroc(this.scores, this.isOutlier);
      out.auroc = a;
      out.hScore = hScore(this.correct / this.n, a);
    }
    return out;
  }
}

/** Harmonic mean of known-class accuracy and AUROC (both in [0, 1]). */
export function hScore(accuracy: number, aurocValue: number): number {
  return accuracy + aurocValue === 0 ? 0 : (2 * accuracy * aurocValue) / (accuracy + aurocValue);
}
