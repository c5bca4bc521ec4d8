/**
 * Streaming semantic-segmentation metrics from a confusion matrix: pixel accuracy and
 * mean IoU over the classes that occur (in labels or predictions), ignoring one label.
 */
export interface SegmentationSummary {
  /** Labelled (non-ignored) pixels seen. */
  pixels: number;
  pixelErrorPct: number;
  /** Mean IoU in percent over classes with a non-empty union. */
  mIoU: number;
  /** IoU per class in percent; NaN where a class never occurred. */
  classIoU: number[];
}

export class SegmentationTally {
  /** confusion[label * C + predicted] */
  private readonly confusion: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly ignoreLabel?: number,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
    this.confusion = new Float64Array(numClasses * numClasses);
  }

  add(predicted: ArrayLike<number>, labels: ArrayLike<number>): void {
    if (predicted.length !== labels.length) {
      throw new Error(`predicted pixels (${predicted.length}) and label pixels (${labels.length}) differ in length`);
    }
    const c = this.numClasses;
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (y === this.ignoreLabel) continue;
      const p = predicted[i]!;
      if (!(y >= 0 && y < c && Number.isInteger(y))) throw new Error(`label ${y} at pixel ${i} is outside 0..${c - 1} (ignore label: ${this.ignoreLabel})`);
      if (!(p >= 0 && p < c && Number.isInteger(p))) throw new Error(`predicted class ${p} at pixel ${i} is outside 0..${c - 1}`);
      this.confusion[y * c + p]!++;
    }
  }

  summary(): SegmentationSummary {
    const c = this.numClasses;
    let total = 0;
    let diag = 0;
    const classIoU: number[] = [];
    for (let k = 0; k < c; k++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < c; j++) {
        row += this.confusion[k * c + j]!;
        col += this.confusion[j * c + k]!;
      }
      const tp = this.confusion[k * c + k]!;
      total += row;
      diag += tp;
      const union = row + col - tp;
      classIoU.push(union === 0 ? NaN : (100 * tp) / union);
    }
    const present = classIoU.filter((v) => !Number.isNaN(v));
    return {
      pixels: total,
      pixelErrorPct: total === 0 ? NaN : 100 * (1 - diag / total),
      mIoU: present.length === 0 ? NaN : present.reduce((a, b) => a + b, 0) / present.length,
      classIoU,
    };
  }
}
