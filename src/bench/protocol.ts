/**
 * The benchmark protocol, independent of where images come from and of how a method is
 * run: for each (method, setting, seed) it streams the domains' batches through an
 * adapter, scores each prediction before moving on (online), and emits per-domain results
 * as soon as a domain is finished so an interrupted benchmark can resume.
 */
import { ClassificationTally, SegmentationTally } from '../metrics/index.ts';
import type { ImageBatch } from '../runtime/images.ts';
import { Rng } from '../util/rng.ts';
import type { BenchConfig, DomainResult, RunKey, RunResult, Setting } from './types.ts';

/** One domain's images, read in batches by position. */
export interface DomainData {
  readonly n: number;
  /** Images (uint8 NHWC) and labels (one per image, or one per pixel for segmentation). */
  batch(indices: readonly number[]): Promise<{ images: ImageBatch; labels: ArrayLike<number> }>;
}

export interface DataSource {
  open(corruption: string, severity: number): Promise<DomainData>;
}

export interface StepOutput {
  /** Predicted class per image (or per pixel). */
  labels: ArrayLike<number>;
  outlierScore?: ArrayLike<number>;
  stats: Record<string, number>;
}

export interface Adapter {
  /** Back to the source model and a fresh method state. */
  reset(): Promise<void>;
  step(images: ImageBatch): Promise<StepOutput>;
}

export type BenchEvent =
  | { type: 'log'; message: string }
  | { type: 'plan'; runs: number; totalImages: number; skippedImages: number }
  | { type: 'progress'; run: RunKey; corruption: string; severity: number; images: number; ms: number }
  | { type: 'domain'; result: DomainResult }
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

/** Settings whose model state starts from the source at every domain, so finished domains can be skipped alone. */
const RESETS_PER_DOMAIN: ReadonlySet<Setting> = new Set(['reset_each_shift']);

export interface ProtocolDeps {
  data: DataSource;
  createAdapter(method: string, seed: number): Promise<Adapter>;
  emit(event: BenchEvent): void;
  /** domainId()s already finished in an earlier, interrupted run of the same benchmark. */
  done?: ReadonlySet<string>;
  task?: 'classification' | 'segmentation';
  numClasses?: number;
  ignoreLabel?: number;
}

interface PlannedRun extends RunKey {
  domains: Domain[];
  /** Indices into domains still to run. */
  todo: number[];
}

export function planRuns(config: BenchConfig, done: ReadonlySet<string> = new Set()): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const setting of config.settings) {
    if (!RESETS_PER_DOMAIN.has(setting) && setting !== 'continual') {
      throw new Error(`setting '${setting}' is not supported by the benchmark runner yet (supported: continual, reset_each_shift)`);
    }
    for (const seed of config.seeds) {
      for (const method of config.methods) {
        const key = { method, setting, seed };
        const domains = domainOrder(config, seed);
        const all = domains.map((_, i) => i);
        const finished = all.filter((i) => done.has(domainId(key, i)));
        // A continual run carries adapted state from domain to domain: resume it only when complete.
        const todo = RESETS_PER_DOMAIN.has(setting) ? all.filter((i) => !finished.includes(i)) : finished.length === all.length ? [] : all;
        runs.push({ ...key, domains, todo });
      }
    }
  }
  return runs;
}

function batchesOf(n: number, size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += size) out.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => i + k));
  return out;
}

function errorOf(pred: ArrayLike<number>, labels: ArrayLike<number>, ignore?: number): number {
  let n = 0;
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === ignore) continue;
    n++;
    if (pred[i] !== labels[i]) wrong++;
  }
  return n === 0 ? NaN : (100 * wrong) / n;
}

export async function runProtocol(config: BenchConfig, deps: ProtocolDeps): Promise<void> {
  const task = deps.task ?? 'classification';
  if (task === 'segmentation' && !deps.numClasses) throw new Error('segmentation benchmark needs numClasses');
  const runs = planRuns(config, deps.done);
  deps.emit({
    type: 'plan',
    runs: runs.filter((r) => r.todo.length > 0).length,
    totalImages: runs.reduce((s, r) => s + r.todo.length * config.n, 0),
    skippedImages: runs.reduce((s, r) => s + (r.domains.length - r.todo.length) * config.n, 0),
  });
  const opened = new Map<string, Promise<DomainData>>();
  const open = (d: Domain) => {
    const k = `${d.corruption}|${d.severity}`;
    if (!opened.has(k)) opened.set(k, deps.data.open(d.corruption, d.severity));
    return opened.get(k)!;
  };
  for (const run of runs) {
    if (run.todo.length === 0) {
      deps.emit({ type: 'log', message: `${runId(run)}: all ${run.domains.length} domains done earlier, skipped` });
      continue;
    }
    const key: RunKey = { method: run.method, setting: run.setting, seed: run.seed };
    const adapter = await deps.createAdapter(run.method, run.seed);
    let timeToFirstBatchMs = NaN;
    const results: DomainResult[] = [];
    for (const domainIndex of run.todo) {
      const domain = run.domains[domainIndex]!;
      if (RESETS_PER_DOMAIN.has(run.setting) || domainIndex === run.todo[0]) await adapter.reset();
      const data = await open(domain);
      if (data.n < config.n) throw new Error(`${domain.corruption} severity ${domain.severity}: ${data.n} images available, --n asks for ${config.n}`);
      const cls = new ClassificationTally();
      const seg = task === 'segmentation' ? new SegmentationTally(deps.numClasses!, deps.ignoreLabel) : undefined;
      const batchErrorPct: number[] = [];
      const statSums: Record<string, number> = {};
      let ms = 0;
      for (const indices of batchesOf(config.n, config.batchSize)) {
        const { images, labels } = await data.batch(indices);
        const t0 = performance.now();
        const out = await adapter.step(images);
        const dt = performance.now() - t0;
        if (Number.isNaN(timeToFirstBatchMs)) timeToFirstBatchMs = dt;
        ms += dt;
        if (out.labels.length !== labels.length) {
          throw new Error(`${run.method}: step returned ${out.labels.length} predictions for ${labels.length} labels (${indices.length} images)`);
        }
        if (seg) seg.add(out.labels, labels);
        else cls.add(out.labels, labels, undefined, out.outlierScore);
        batchErrorPct.push(errorOf(out.labels, labels, deps.ignoreLabel));
        for (const [k, v] of Object.entries(out.stats)) statSums[k] = (statSums[k] ?? 0) + v;
        deps.emit({ type: 'progress', run: key, corruption: domain.corruption, severity: domain.severity, images: indices.length, ms: dt });
      }
      const c = cls.summary();
      const s = seg?.summary();
      const result: DomainResult = {
        ...key,
        domainIndex,
        corruption: domain.corruption,
        severity: domain.severity,
        n: seg ? s!.pixels : c.n,
        errorPct: seg ? s!.pixelErrorPct : c.errorPct,
        images: config.n,
        ms,
        imagesPerSec: (1000 * config.n) / ms,
        batchErrorPct,
        stats: Object.fromEntries(Object.entries(statSums).map(([k, v]) => [k, v / batchErrorPct.length])),
      };
      if (s) result.mIoU = s.mIoU;
      if (c.auroc !== undefined) Object.assign(result, { outliers: c.outliers, auroc: c.auroc, hScore: c.hScore });
      results.push(result);
      deps.emit({ type: 'domain', result });
    }
    deps.emit({ type: 'run', result: { ...key, timeToFirstBatchMs, domains: results } });
  }
}
