/**
 * The benchmark protocol, independent of where images come from and of how a method is
 * run: for each (method, setting, seed) it builds the test stream (src/stream), feeds its
 * batches to an adapter, scores every prediction per domain (online: the prediction made
 * before or while adapting on the batch), and emits each domain's result when it is final,
 * so an interrupted benchmark can resume.
 */
import { ClassificationTally, SegmentationTally } from '../metrics/index.ts';
import type { ImageBatch } from '../runtime/images.ts';
import { buildStream, type Batch, type LabelOrder, type Setting as StreamSetting } from '../stream/stream.ts';
import type { ImageSource } from '../stream/source.ts';
import { Rng } from '../util/rng.ts';
import type { BenchConfig, DomainResult, RunKey, RunResult, Setting } from './types.ts';
import type { RuntimeMemory } from '../runtime/session.ts';
import type { EncodedCheckpoint } from './checkpoint.ts';

export interface DataSource {
  /** The images of one domain (uint8, model input size), labelled (segmentation: one label per pixel). */
  domain(corruption: string, severity: number): Promise<ImageSource>;
  /** Outlier images for open-set streams (labels ignored). */
  outliers?(): Promise<ImageSource[]>;
}

export interface StepOutput {
  /** Predicted class per image (segmentation: per pixel). */
  labels: ArrayLike<number>;
  /** Higher = more likely an outlier (open-set AUROC). */
  outlierScore?: ArrayLike<number>;
  stats: Record<string, number>;
  /** Per image: 1 where its prediction has a NaN/Inf. */
  nonFinite?: ArrayLike<number>;
}

export interface Adapter {
  /** Back to the source model and a fresh method state. */
  reset(): Promise<void>;
  step(images: ImageBatch): Promise<StepOutput>;
  /** The adapted state (model values and method state, random streams included). */
  save(): Promise<EncodedCheckpoint>;
  restore(state: EncodedCheckpoint): Promise<void>;
  /** Runtime memory now (recorded after each domain). */
  memory?(): Promise<RuntimeMemory>;
}

/** A continual run's adapted state after its domain `domainIndex`: the run resumes with the next domain. */
export interface RunCheckpoint {
  domainIndex: number;
  state: EncodedCheckpoint;
}

export type BenchEvent =
  | { type: 'log'; message: string }
  | { type: 'plan'; runs: number; totalImages: number; skippedImages: number }
  | { type: 'progress'; run: RunKey; corruption: string; severity: number; images: number; ms: number }
  | { type: 'domain'; result: DomainResult }
  | { type: 'checkpoint'; run: RunKey; checkpoint: RunCheckpoint }
  | { type: 'run'; result: RunResult };

export interface Domain {
  corruption: string;
  severity: number;
}

/** Domains in stream order: severity-major, corruptions in the configured or a per-seed shuffled order. */
export function domainOrder(config: Pick<BenchConfig, 'corruptions' | 'severities' | 'order'>, seed: number): Domain[] {
  let corruptions = [...config.corruptions];
  if (config.order === 'shuffled') corruptions = new Rng(seed).fork('corruption-order').shuffle(corruptions);
  return config.severities.flatMap((severity) => corruptions.map((corruption) => ({ corruption, severity })));
}

export const runId = (k: RunKey) => `${k.method}|${k.setting}|s${k.seed}`;
export const domainId = (k: RunKey, domainIndex: number) => `${runId(k)}|${domainIndex}`;

/** How each benchmark setting maps onto a stream: dataset order within domains, except where the setting is about order. */
const STREAMS: Record<Setting, { setting: StreamSetting; labelOrder: LabelOrder }> = {
  continual: { setting: 'continual', labelOrder: 'dataset' },
  reset_each_shift: { setting: 'reset_each_shift', labelOrder: 'dataset' },
  mixed_domains: { setting: 'mixed_domains', labelOrder: 'shuffle' },
  // RoTTA's practical TTA: continual domains, Dirichlet(0.1)-correlated labels.
  correlated: { setting: 'continual', labelOrder: 'dirichlet' },
};

/** Settings whose model state starts from the source at every domain, so finished domains can be skipped alone. */
const RESETS_PER_DOMAIN: ReadonlySet<Setting> = new Set(['reset_each_shift']);
/** Settings that finish one domain before the next and carry the adapted state on: resumable from a checkpoint. */
const CARRIES_STATE: ReadonlySet<Setting> = new Set(['continual', 'correlated']);

export interface ProtocolDeps {
  data: DataSource;
  createAdapter(method: string, seed: number): Promise<Adapter>;
  emit(event: BenchEvent): void;
  /** domainId()s already finished in an earlier, interrupted run of the same benchmark. */
  done?: ReadonlySet<string>;
  /** runId() -> the last saved state of an interrupted continual run. */
  checkpoints?: ReadonlyMap<string, RunCheckpoint>;
  /** Segmentation models are scored per pixel (mIoU) over `numClasses`, skipping `ignoreLabel`. */
  segmentation?: { numClasses: number; ignoreLabel?: number };
}

/**
 * Segmentation streams: each domain's first n images in data set order, batches within a
 * domain (labels are per pixel, which the classification stream builder does not carry).
 */
async function* segmentationBatches(sources: readonly ImageSource[], setting: StreamSetting, n: number, batchSize: number): AsyncGenerator<Batch> {
  if (setting === 'mixed_domains') throw new Error('segmentation benchmarks support the continual and reset_each_shift settings');
  let index = 0;
  for (const [d, src] of sources.entries()) {
    for (let start = 0; start < n; start += batchSize) {
      const ids = Array.from({ length: Math.min(batchSize, n - start) }, (_, k) => start + k);
      const { images, labels } = await src.get(ids);
      yield {
        index: index++, n: ids.length, height: src.height, width: src.width,
        images: Float32Array.from(images, (v) => v / 255),
        labels, outlier: new Uint8Array(ids.length), domain: new Int32Array(ids.length).fill(d),
        domainStart: start === 0, reset: setting === 'reset_each_shift' && start === 0,
      };
    }
  }
}

export interface PlannedRun extends RunKey {
  domains: Domain[];
  /** Indices into domains still to run. */
  todo: number[];
  /** The state to start from (a continual run resumed after its checkpointed domain). */
  resume?: RunCheckpoint;
}

export function planRuns(config: BenchConfig, done: ReadonlySet<string> = new Set(), checkpoints: ReadonlyMap<string, RunCheckpoint> = new Map()): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const setting of config.settings) {
    for (const seed of config.seeds) {
      for (const method of config.methods) {
        const key = { method, setting, seed };
        const domains = domainOrder(config, seed);
        const all = domains.map((_, i) => i);
        const finished = all.filter((i) => done.has(domainId(key, i)));
        if (RESETS_PER_DOMAIN.has(setting)) {
          runs.push({ ...key, domains, todo: all.filter((i) => !finished.includes(i)) });
        } else if (finished.length === all.length) {
          runs.push({ ...key, domains, todo: [] });
        } else {
          // The adapted state flows through the stream: go on after a checkpoint whose domains are all finished, else from the start.
          const cp = CARRIES_STATE.has(setting) ? checkpoints.get(runId(key)) : undefined;
          const usable = cp && cp.domainIndex < all.length - 1 && all.slice(0, cp.domainIndex + 1).every((i) => finished.includes(i));
          runs.push({ ...key, domains, todo: usable ? all.slice(cp.domainIndex + 1) : all, ...(usable ? { resume: cp } : {}) });
        }
      }
    }
  }
  return runs;
}

interface DomainTally {
  cls: ClassificationTally;
  seg?: SegmentationTally;
  batchErrorPct: number[];
  statSums: Record<string, number>;
  steps: number;
  nonFinite: number;
  images: number;
  ms: number;
}

export async function runProtocol(config: BenchConfig, deps: ProtocolDeps): Promise<void> {
  const runs = planRuns(config, deps.done, deps.checkpoints);
  const outlierShare = config.openSet?.share ?? 0;
  if (deps.segmentation && outlierShare > 0) throw new Error('open-set streams are for classification models only');
  // Open-set streams hold n known-class images per domain plus the outliers mixed in.
  const perDomainImages = Math.round(config.n / (1 - outlierShare));
  deps.emit({
    type: 'plan',
    runs: runs.filter((r) => r.todo.length > 0).length,
    totalImages: runs.reduce((s, r) => s + r.todo.length * perDomainImages, 0),
    skippedImages: runs.reduce((s, r) => s + (r.domains.length - r.todo.length) * perDomainImages, 0),
  });
  const sources = new Map<string, Promise<ImageSource>>();
  const sourceOf = (d: Domain) => {
    const k = `${d.corruption}|${d.severity}`;
    if (!sources.has(k)) sources.set(k, deps.data.domain(d.corruption, d.severity));
    return sources.get(k)!;
  };
  const outliers = outlierShare > 0 ? await deps.data.outliers?.() : undefined;
  if (outlierShare > 0 && !outliers?.length) throw new Error('open-set benchmark: the data source has no outlier images');

  for (const run of runs) {
    if (run.todo.length === 0) {
      deps.emit({ type: 'log', message: `${runId(run)}: all ${run.domains.length} domains done earlier, skipped` });
      continue;
    }
    const key: RunKey = { method: run.method, setting: run.setting, seed: run.seed };
    const domainSources = await Promise.all(run.domains.map(sourceOf));
    for (const [i, s] of domainSources.entries()) {
      if (s.size < config.n) throw new Error(`${run.domains[i]!.corruption} severity ${run.domains[i]!.severity}: ${s.size} images available, --n asks for ${config.n}`);
    }
    const { setting, labelOrder } = STREAMS[run.setting];
    const batchSize = config.batchSizes[run.method];
    if (!batchSize) throw new Error(`${run.method}: no batch size in the benchmark configuration (batchSizes: ${JSON.stringify(config.batchSizes)})`);
    const seg = deps.segmentation;
    if (seg && config.batchRange) throw new Error('segmentation benchmarks take one batch size (--batch B), not a range');
    if (seg && run.setting === 'correlated') throw new Error('segmentation benchmarks support the continual and reset_each_shift settings');
    const stream: AsyncIterable<Batch> = seg
      ? segmentationBatches(domainSources, setting, config.n, batchSize)
      : await buildStream(
          run.domains.map((d, i) => ({ name: `${d.corruption}-${d.severity}`, source: domainSources[i]! })),
          { setting, batchSize: config.batchRange ?? batchSize, seed: run.seed, labelOrder, perDomain: config.n, openSet: outliers ? { share: outlierShare, sources: outliers } : undefined },
        );
    const adapter = await deps.createAdapter(run.method, run.seed);
    await adapter.reset();
    if (run.resume) {
      await adapter.restore(run.resume.state);
      deps.emit({ type: 'log', message: `${runId(run)}: resumed after domain ${run.resume.domainIndex}` });
    }
    const todo = new Set(run.todo);
    const tallies = run.domains.map((): DomainTally => ({
      cls: new ClassificationTally(),
      seg: seg ? new SegmentationTally(seg.numClasses, seg.ignoreLabel) : undefined,
      batchErrorPct: [],
      statSums: {},
      steps: 0,
      nonFinite: 0,
      images: 0,
      ms: 0,
    }));
    // Sequential streams finish one domain before the next; mixed streams finish all at the end.
    const emitDomain = async (i: number) => {
      const memory = await adapter.memory?.();
      const t = tallies[i]!;
      const c = t.cls.summary();
      const sg = t.seg?.summary();
      const result: DomainResult = {
        ...key,
        domainIndex: i,
        corruption: run.domains[i]!.corruption,
        severity: run.domains[i]!.severity,
        n: sg ? t.images : c.n,
        errorPct: sg ? sg.pixelErrorPct : c.errorPct,
        images: t.images,
        ms: t.ms,
        imagesPerSec: (1000 * t.images) / t.ms,
        batchErrorPct: t.batchErrorPct,
        stats: Object.fromEntries(Object.entries(t.statSums).map(([k, v]) => [k, v / t.steps])),
        steps: t.steps,
        nonFinitePredictions: t.nonFinite,
        ...(memory ? { memory } : {}),
      };
      if (sg) result.mIoU = sg.mIoU;
      if (c.auroc !== undefined) Object.assign(result, { outliers: c.outliers, auroc: c.auroc, hScore: c.hScore });
      deps.emit({ type: 'domain', result });
      return result;
    };
    const results: DomainResult[] = [];
    let timeToFirstBatchMs = NaN;
    let current = -1;
    for await (const batch of stream) {
      const first = batch.domain[0]!;
      if (setting !== 'mixed_domains' && batch.domainStart && current >= 0 && todo.has(current)) {
        results.push(await emitDomain(current));
        if (CARRIES_STATE.has(run.setting)) deps.emit({ type: 'checkpoint', run: key, checkpoint: { domainIndex: current, state: await adapter.save() } });
      }
      current = first;
      // reset_each_shift: a finished domain's batches are skipped (the model restarts from the source at the next one anyway).
      if (!todo.has(first)) continue;
      if (batch.reset && first !== run.todo[0]) await adapter.reset();
      const t0 = performance.now();
      const out = await adapter.step({ data: batch.images, shape: [batch.n, batch.height, batch.width, 3] });
      const dt = performance.now() - t0;
      if (Number.isNaN(timeToFirstBatchMs)) timeToFirstBatchMs = dt;
      const perImage = seg ? batch.height * batch.width : 1;
      if (out.labels.length !== batch.n * perImage) throw new Error(`${run.method}: step returned ${out.labels.length} predictions for ${batch.n} images of ${perImage} label(s) each`);
      // Attribute every sample (and its share of the step time) to its own domain.
      const members = new Map<number, number[]>();
      for (let k = 0; k < batch.n; k++) {
        const d = batch.domain[k]!;
        if (!members.has(d)) members.set(d, []);
        members.get(d)!.push(k);
      }
      for (const [d, ks] of members) {
        const t = tallies[d]!;
        if (t.seg) {
          // Sequential segmentation batches hold one domain: score all their pixels.
          t.seg.add(out.labels, batch.labels);
          let wrong = 0;
          let counted = 0;
          for (let p = 0; p < batch.labels.length; p++) {
            if (batch.labels[p] === seg!.ignoreLabel) continue;
            counted++;
            if (out.labels[p] !== batch.labels[p]) wrong++;
          }
          t.batchErrorPct.push(counted ? (100 * wrong) / counted : NaN);
        } else {
          const pick = <T>(a: ArrayLike<T>) => ks.map((k) => a[k]!);
          const pred = pick(out.labels);
          const labels = pick(batch.labels);
          const isOut = pick(batch.outlier);
          t.cls.add(pred, labels, isOut, out.outlierScore ? pick(out.outlierScore) : undefined);
          const known = ks.filter((_, j) => !isOut[j]);
          if (known.length > 0) t.batchErrorPct.push((100 * known.filter((k) => out.labels[k] !== batch.labels[k]).length) / known.length);
        }
        for (const [s, v] of Object.entries(out.stats)) t.statSums[s] = (t.statSums[s] ?? 0) + v;
        t.steps++;
        if (out.nonFinite) for (const k of ks) t.nonFinite += out.nonFinite[k]! ? 1 : 0;
        t.images += ks.length;
        t.ms += (dt * ks.length) / batch.n;
      }
      const d = run.domains[first]!;
      deps.emit({ type: 'progress', run: key, corruption: setting === 'mixed_domains' ? 'mixed' : d.corruption, severity: d.severity, images: batch.n, ms: dt });
    }
    if (setting === 'mixed_domains') for (const i of run.todo) results.push(await emitDomain(i));
    else if (current >= 0 && todo.has(current)) results.push(await emitDomain(current));
    deps.emit({ type: 'run', result: { ...key, batchSize, timeToFirstBatchMs, domains: results } });
  }
}
