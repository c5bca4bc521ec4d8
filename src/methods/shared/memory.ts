/**
 * Memory banks of test images (each item an image tensor [H, W, C] the bank owns and disposes).
 * CSTU: RoTTA's category-balanced timeliness/uncertainty memory.
 * ClassBalancedFifo: STAMP's class-balanced FIFO with EMA class counts.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.ts';

export interface CstuItem {
  readonly image: tf.Tensor3D;
  readonly uncertainty: number;
  age: number;
}

export interface CstuOptions {
  capacity: number;
  numClasses: number;
  lambdaT?: number;
  lambdaU?: number;
}

export class CstuMemory {
  readonly capacity: number;
  readonly numClasses: number;
  readonly perClass: number;
  private readonly lambdaT: number;
  private readonly lambdaU: number;
  private data: CstuItem[][];

  constructor(opts: CstuOptions) {
    if (!(opts.capacity > 0) || !(opts.numClasses > 1)) throw new Error(`CSTU memory: capacity ${opts.capacity} and numClasses ${opts.numClasses} must be positive (classes > 1)`);
    this.capacity = opts.capacity;
    this.numClasses = opts.numClasses;
    this.perClass = opts.capacity / opts.numClasses;
    this.lambdaT = opts.lambdaT ?? 1;
    this.lambdaU = opts.lambdaU ?? 1;
    this.data = Array.from({ length: opts.numClasses }, () => []);
  }

  /** lambda_t * sigmoid(age / capacity) + lambda_u * uncertainty / ln C: higher = evicted first. */
  score(age: number, uncertainty: number): number {
    return (this.lambdaT * 1) / (1 + Math.exp(-age / this.capacity)) + (this.lambdaU * uncertainty) / Math.log(this.numClasses);
  }

  get occupancy(): number {
    return this.data.reduce((s, c) => s + c.length, 0);
  }

  perClassCounts(): number[] {
    return this.data.map((c) => c.length);
  }

  /** Offer one image (copied) with its pseudo-label and entropy; every stored item then ages by one. */
  add(image: tf.Tensor3D, label: number, uncertainty: number): boolean {
    if (!Number.isInteger(label) || label < 0 || label >= this.numClasses) throw new Error(`CSTU memory: label ${label} outside [0, ${this.numClasses})`);
    const admitted = this.makeRoom(label, this.score(0, uncertainty));
    if (admitted) this.data[label]!.push({ image: tf.keep(tf.clone(image)), uncertainty, age: 0 });
    for (const c of this.data) for (const item of c) item.age++;
    return admitted;
  }

  private makeRoom(label: number, newScore: number): boolean {
    if (this.data[label]!.length < this.perClass) {
      if (this.occupancy < this.capacity) return true;
      const counts = this.perClassCounts();
      const most = Math.max(...counts);
      return this.evictFrom(counts.flatMap((n, c) => (n === most ? [c] : [])), newScore);
    }
    return this.evictFrom([label], newScore);
  }

  /** Remove the highest-score item of `classes` (the last one on ties) if it scores above the newcomer. */
  private evictFrom(classes: number[], newScore: number): boolean {
    let best: { cls: number; idx: number; score: number } | undefined;
    for (const cls of classes) {
      this.data[cls]!.forEach((item, idx) => {
        const s = this.score(item.age, item.uncertainty);
        if (!best || s >= best.score) best = { cls, idx, score: s };
      });
    }
    if (!best) return true;
    if (best.score <= newScore) return false;
    const [removed] = this.data[best.cls]!.splice(best.idx, 1);
    removed!.image.dispose();
    return true;
  }

  /** Items in class order, with ages divided by the capacity (RoTTA's timeliness input). */
  items(): { images: tf.Tensor3D[]; ages: number[]; labels: number[] } {
    const images: tf.Tensor3D[] = [];
    const ages: number[] = [];
    const labels: number[] = [];
    this.data.forEach((c, cls) => {
      for (const item of c) {
        images.push(item.image);
        ages.push(item.age / this.capacity);
        labels.push(cls);
      }
    });
    return { images, ages, labels };
  }

  /** Copies of the items in class order, with [label, uncertainty, age] rows. */
  exportItems(): { images: tf.Tensor3D[]; meta: [number, number, number][] } {
    const images: tf.Tensor3D[] = [];
    const meta: [number, number, number][] = [];
    this.data.forEach((c, cls) => {
      for (const item of c) {
        images.push(tf.clone(item.image));
        meta.push([cls, item.uncertainty, item.age]);
      }
    });
    return { images, meta };
  }

  /** Replace the contents with exported items (images copied). */
  importItems(images: readonly tf.Tensor3D[], meta: readonly (readonly number[])[]): void {
    if (images.length !== meta.length) throw new Error(`CSTU memory: ${images.length} images vs ${meta.length} metadata rows`);
    this.clear();
    images.forEach((image, i) => {
      const [label, uncertainty, age] = meta[i]!;
      if (!Number.isInteger(label) || label! < 0 || label! >= this.numClasses) throw new Error(`CSTU memory: imported label ${label} outside [0, ${this.numClasses})`);
      this.data[label!]!.push({ image: tf.keep(tf.clone(image)), uncertainty: uncertainty!, age: age! });
    });
  }

  clear(): void {
    for (const c of this.data) for (const item of c) item.image.dispose();
    this.data = Array.from({ length: this.numClasses }, () => []);
  }
}

export class ClassBalancedFifo {
  private data: tf.Tensor3D[][];
  private counts: number[];
  private total = 0;

  constructor(readonly capacity: number, readonly numClasses: number, private readonly rng: Rng) {
    if (!(capacity > 0) || !(numClasses > 0)) throw new Error(`class-balanced FIFO: capacity ${capacity} and numClasses ${numClasses} must be positive`);
    this.data = Array.from({ length: numClasses }, () => []);
    this.counts = new Array<number>(numClasses).fill(0);
  }

  get size(): number {
    return this.total;
  }

  perClassCounts(): number[] {
    return this.data.map((c) => c.length);
  }

  /** EMA class counts that decide eviction. */
  classCounts(): readonly number[] {
    return this.counts;
  }

  /** Append images (copied) with their labels; when full, first evict the oldest item of a random class among those with the highest EMA count. */
  append(images: readonly tf.Tensor3D[], labels: readonly number[]): void {
    if (images.length !== labels.length) throw new Error(`class-balanced FIFO: ${images.length} images vs ${labels.length} labels`);
    images.forEach((image, i) => {
      const label = labels[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= this.numClasses) throw new Error(`class-balanced FIFO: label ${label} outside [0, ${this.numClasses})`);
      if (this.total < this.capacity) this.total++;
      else this.evictOne();
      this.data[label]!.push(tf.keep(tf.clone(image)));
    });
  }

  private evictOne(): void {
    let maxCount = 0;
    this.data.forEach((c, cls) => {
      if (c.length > 0 && this.counts[cls]! > maxCount) maxCount = this.counts[cls]!;
    });
    const candidates = this.data.flatMap((c, cls) => (c.length > 0 && this.counts[cls] === maxCount ? [cls] : []));
    const cls = candidates[this.rng.int(0, candidates.length)]!;
    this.data[cls]!.shift()!.dispose();
  }

  /** All items in class order; updates the EMA counts (0.9 old + 0.1 current), as STAMP's get_data. */
  read(): tf.Tensor3D[] {
    this.data.forEach((c, cls) => (this.counts[cls] = 0.9 * this.counts[cls]! + 0.1 * c.length));
    return this.data.flat();
  }

  /** Copies of the items (class order) with their labels, the EMA counts and the fill level. */
  exportItems(): { images: tf.Tensor3D[]; labels: number[]; counts: number[]; total: number } {
    return {
      images: this.data.flat().map((t) => tf.clone(t)),
      labels: this.data.flatMap((c, cls) => c.map(() => cls)),
      counts: [...this.counts],
      total: this.total,
    };
  }

  importItems(images: readonly tf.Tensor3D[], labels: readonly number[], counts: readonly number[], total: number): void {
    if (images.length !== labels.length || counts.length !== this.numClasses) {
      throw new Error(`class-balanced FIFO: import needs one label per image (${images.length} vs ${labels.length}) and ${this.numClasses} counts (got ${counts.length})`);
    }
    this.clear();
    images.forEach((image, i) => {
      const label = labels[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= this.numClasses) throw new Error(`class-balanced FIFO: imported label ${label} outside [0, ${this.numClasses})`);
      this.data[label]!.push(tf.keep(tf.clone(image)));
    });
    this.counts = [...counts];
    this.total = total;
  }

  clear(): void {
    for (const c of this.data) for (const t of c) t.dispose();
    this.data = Array.from({ length: this.numClasses }, () => []);
    this.counts.fill(0);
    this.total = 0;
  }
}
