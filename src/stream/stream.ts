/**
 * Test streams for the TTA protocols: a plan of (source, index) pairs built up front (small
 * integer arrays), then a lazy async iterator that loads one batch at a time (and the next
 * one in the background) as Float32 NHWC in [0, 1] plus labels, domain and outlier flags.
 */
import { Rng } from '../util/rng.ts';
import { dirichletOrder } from './orders.ts';
import type { ImageSource } from './source.ts';

export type Setting = 'reset_each_shift' | 'continual' | 'mixed_domains';

/** 'dirichlet' = RoTTA's practical-TTA default, concentration 0.1. */
export type LabelOrder = 'dataset' | 'shuffle' | 'sorted' | 'dirichlet' | { dirichlet: number };

export const DEFAULT_DIRICHLET = 0.1;

export interface Domain {
  readonly name: string;
  readonly source: ImageSource;
}

export interface OpenSetOptions {
  /** Share of outliers in the final stream, in [0, 1). */
  readonly share: number;
  /** Outlier sources (images flagged as outliers whatever their labels); drawn in turn. */
  readonly sources: readonly ImageSource[];
}

export interface BatchRange {
  readonly min: number;
  readonly max: number;
}

export interface StreamOptions {
  readonly setting: Setting;
  /** A fixed size, or a range [min, max] from which each batch's size is drawn (seeded; soak tests). */
  readonly batchSize: number | BatchRange;
  readonly seed: number;
  /** Order of items within a domain (for mixed_domains: within the mixed pool). Default 'shuffle'. */
  readonly labelOrder?: LabelOrder;
  /** Use at most this many items of each domain (the first ones). */
  readonly perDomain?: number;
  readonly openSet?: OpenSetOptions;
}

export interface Batch {
  /** Position of the batch in the stream. */
  readonly index: number;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  /** n * height * width * 3 floats, NHWC RGB in [0, 1]. */
  readonly images: Float32Array;
  /** Class labels, -1 for outliers. */
  readonly labels: Int32Array;
  /** 1 where the sample is an outlier (open-set). */
  readonly outlier: Uint8Array;
  /** Index into `domains` per sample (outliers carry the domain they were mixed into). */
  readonly domain: Int32Array;
  /** First batch of a new domain; in reset_each_shift the model must be reset before it. */
  readonly domainStart: boolean;
  /** True when the runner must restore the source model before this batch (reset_each_shift). */
  readonly reset: boolean;
}

export interface TestStream extends AsyncIterable<Batch> {
  readonly domains: readonly string[];
  readonly length: number;
  readonly numBatches: number;
  readonly height: number;
  readonly width: number;
}

/** Source -1 - k is outlier source k. */
interface Plan {
  src: Int32Array;
  idx: Int32Array;
  domain: Int32Array;
  /** [start, end) of each batch. */
  batches: [number, number][];
}

async function orderItems(labels: Int32Array, order: LabelOrder, rng: Rng): Promise<number[]> {
  const ids = Array.from(labels, (_, i) => i);
  if (order === 'dataset') return ids;
  if (order === 'shuffle') return rng.shuffle(ids);
  if (order === 'sorted') return ids.sort((a, b) => labels[a]! - labels[b]! || a - b);
  if (order === 'dirichlet') return dirichletOrder(labels, DEFAULT_DIRICHLET, rng);
  if (typeof order === 'object' && 'dirichlet' in order) return dirichletOrder(labels, order.dirichlet, rng);
  throw new Error(`unknown label order ${JSON.stringify(order)}`);
}

/** Insert outliers at random positions so they make up `share` of the segment; inlier order is kept. */
function withOutliers(items: { src: number; idx: number }[], open: OpenSetOptions | undefined, rng: Rng, counter: { k: number }) {
  if (!open || open.share === 0) return items;
  const nOut = Math.round((items.length * open.share) / (1 - open.share));
  const total = items.length + nOut;
  const isOut = new Uint8Array(total);
  for (const p of rng.shuffle(Array.from({ length: total }, (_, i) => i)).slice(0, nOut)) isOut[p] = 1;
  const out: { src: number; idx: number }[] = [];
  let j = 0;
  for (let p = 0; p < total; p++) {
    if (isOut[p]) {
      const k = counter.k++ % open.sources.length;
      out.push({ src: -1 - k, idx: rng.int(0, open.sources[k]!.size) });
    } else {
      out.push(items[j++]!);
    }
  }
  return out;
}

async function buildPlan(domains: readonly Domain[], opts: StreamOptions): Promise<Plan> {
  const rng = new Rng(opts.seed).fork('stream');
  const order = opts.labelOrder ?? 'shuffle';
  const counter = { k: 0 };
  const sizes = rng.fork('batch-sizes');
  const size = opts.batchSize;
  const nextSize = typeof size === 'number' ? () => size : () => sizes.int(size.min, size.max + 1);
  const segments: { src: number; idx: number }[][] = [];
  const perDomainItems = await Promise.all(
    domains.map(async (d, di) => {
      const labels = await d.source.labels();
      const n = Math.min(labels.length, opts.perDomain ?? Infinity);
      return { di, labels: labels.subarray(0, n) };
    }),
  );
  if (opts.setting === 'mixed_domains') {
    const pool = rng.shuffle(perDomainItems.flatMap(({ di, labels }) => Array.from(labels, (_, i) => ({ src: di, idx: i }))));
    const poolLabels = Int32Array.from(pool, (it) => perDomainItems[it.src]!.labels[it.idx]!);
    const ordered = (await orderItems(poolLabels, order, rng.fork('order'))).map((p) => pool[p]!);
    segments.push(withOutliers(ordered, opts.openSet, rng.fork('outliers'), counter));
  } else {
    for (const { di, labels } of perDomainItems) {
      const ordered = (await orderItems(labels, order, rng.fork(`order-${di}`))).map((i) => ({ src: di, idx: i }));
      segments.push(withOutliers(ordered, opts.openSet, rng.fork(`outliers-${di}`), counter));
    }
  }
  const total = segments.reduce((s, seg) => s + seg.length, 0);
  const plan: Plan = { src: new Int32Array(total), idx: new Int32Array(total), domain: new Int32Array(total), batches: [] };
  let pos = 0;
  segments.forEach((seg, si) => {
    const start = pos;
    let lastDomain = si;
    for (const it of seg) {
      plan.src[pos] = it.src;
      plan.idx[pos] = it.idx;
      // Outliers belong to the domain they were mixed into (mixed: the previous inlier's).
      if (it.src >= 0) lastDomain = it.src;
      plan.domain[pos] = opts.setting === 'mixed_domains' ? lastDomain : si;
      pos++;
    }
    // Batches never straddle a domain change in the sequential settings (as in the reference runners).
    for (let b = start; b < pos; ) {
      const end = Math.min(pos, b + nextSize());
      plan.batches.push([b, end]);
      b = end;
    }
  });
  return plan;
}

export async function buildStream(domains: readonly Domain[], opts: StreamOptions): Promise<TestStream> {
  if (domains.length === 0) throw new Error('buildStream: no domains');
  const bs = opts.batchSize;
  const sizeOk = typeof bs === 'number' ? Number.isInteger(bs) && bs >= 1 : Number.isInteger(bs.min) && Number.isInteger(bs.max) && bs.min >= 1 && bs.max >= bs.min;
  if (!sizeOk) throw new Error(`buildStream: batch size must be a positive integer or a range min <= max of them, got ${JSON.stringify(bs)}`);
  const { height, width } = domains[0]!.source;
  const all = [...domains.map((d) => d.source), ...(opts.openSet?.sources ?? [])];
  for (const s of all) {
    if (s.height !== height || s.width !== width) {
      throw new Error(`buildStream: source ${s.name} is ${s.height}x${s.width}, the stream is ${height}x${width} (wrap it in resizedSource)`);
    }
  }
  if (opts.openSet) {
    const { share, sources } = opts.openSet;
    if (!(share >= 0 && share < 1)) throw new Error(`open-set share must be in [0, 1), got ${share}`);
    if (share > 0 && sources.length === 0) throw new Error('open-set share > 0 needs at least one outlier source');
  }
  const plan = await buildPlan(domains, opts);
  const px = height * width * 3;

  async function load(b: number): Promise<Batch> {
    const [start, end] = plan.batches[b]!;
    const n = end - start;
    const images = new Float32Array(n * px);
    const labels = new Int32Array(n);
    const outlier = new Uint8Array(n);
    const domain = plan.domain.slice(start, end);
    // One get() per source, then scatter back into stream order.
    const bySource = new Map<number, number[]>();
    for (let k = 0; k < n; k++) {
      const s = plan.src[start + k]!;
      let list = bySource.get(s);
      if (!list) bySource.set(s, (list = []));
      list.push(k);
    }
    await Promise.all(
      [...bySource].map(async ([s, ks]) => {
        const source = s >= 0 ? domains[s]!.source : opts.openSet!.sources[-1 - s]!;
        const items = await source.get(ks.map((k) => plan.idx[start + k]!));
        ks.forEach((k, j) => {
          for (let i = 0; i < px; i++) images[k * px + i] = items.images[j * px + i]! / 255;
          labels[k] = s >= 0 ? items.labels[j]! : -1;
          outlier[k] = s >= 0 ? 0 : 1;
        });
      }),
    );
    const domainStart = b === 0 || (opts.setting !== 'mixed_domains' && plan.domain[start]! !== plan.domain[start - 1]!);
    const reset = opts.setting === 'reset_each_shift' && domainStart;
    return { index: b, n, height, width, images, labels, outlier, domain, domainStart, reset };
  }

  return {
    domains: domains.map((d) => d.name),
    length: plan.src.length,
    numBatches: plan.batches.length,
    height,
    width,
    async *[Symbol.asyncIterator]() {
      let next = plan.batches.length > 0 ? load(0) : undefined;
      for (let b = 0; b < plan.batches.length; b++) {
        const current = await next!;
        next = b + 1 < plan.batches.length ? load(b + 1) : undefined;
        // A prefetch the consumer never awaits (it stopped early) must not become an unhandled rejection.
        next?.catch(() => undefined);
        yield current;
      }
    },
  };
}
