/**
 * Aggregations shared by the Markdown and HTML reports: methods x domains tables (mean
 * over seeds) and throughput rows.
 */
import type { BenchResults, DomainResult, RunResult, Setting } from '../bench/types.ts';

export interface MetricDef {
  key: 'errorPct' | 'mIoU';
  label: string;
  /** Lower is better for error, higher for mIoU. */
  lowerIsBetter: boolean;
}

export function primaryMetric(results: BenchResults): MetricDef {
  return results.config.model.task === 'segmentation'
    ? { key: 'mIoU', label: 'mIoU (%)', lowerIsBetter: false }
    : { key: 'errorPct', label: 'error (%)', lowerIsBetter: true };
}

export function domainLabel(d: Pick<DomainResult, 'corruption' | 'severity'>, severities: readonly number[]): string {
  return severities.length > 1 ? `${d.corruption}-${d.severity}` : d.corruption;
}

export interface TableRow {
  method: string;
  /** One value per column (NaN where missing), mean over seeds. */
  values: number[];
  /** Mean over the columns of the per-seed means. */
  mean: number;
  /** Standard deviation of the mean across seeds (only with more than one seed). */
  meanStd?: number;
  seeds: number;
}

export interface Table {
  setting: Setting;
  columns: string[];
  rows: TableRow[];
}

const avg = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

function metricOf(d: DomainResult, metric: MetricDef): number {
  return d[metric.key] ?? NaN;
}

/** Columns in the stream order of the config (corruption-major, then severity). */
export function tableColumns(results: BenchResults): string[] {
  const { corruptions, severities } = results.config;
  return severities.flatMap((s) => corruptions.map((c) => domainLabel({ corruption: c, severity: s }, severities)));
}

export function buildTables(results: BenchResults): Table[] {
  const metric = primaryMetric(results);
  const columns = tableColumns(results);
  const { severities } = results.config;
  const tables: Table[] = [];
  for (const setting of results.config.settings) {
    const rows: TableRow[] = [];
    for (const method of results.config.methods) {
      const runs = results.runs.filter((r) => r.setting === setting && r.method === method);
      if (runs.length === 0) continue;
      const perSeed = runs.map((run) => {
        const byCol = new Map(run.domains.map((d) => [domainLabel(d, severities), metricOf(d, metric)]));
        return columns.map((c) => byCol.get(c) ?? NaN);
      });
      const values = columns.map((_, j) => avg(perSeed.map((v) => v[j]!).filter((x) => !Number.isNaN(x))));
      const seedMeans = perSeed.map((v) => avg(v));
      const mean = avg(seedMeans);
      const row: TableRow = { method, values, mean, seeds: runs.length };
      if (runs.length > 1) row.meanStd = Math.sqrt(avg(seedMeans.map((m) => (m - mean) ** 2)));
      rows.push(row);
    }
    if (rows.length > 0) tables.push({ setting, columns, rows });
  }
  return tables;
}

export interface ThroughputRow {
  label: string;
  imagesPerSec: number;
  /** Time to first batch (adaptation) or first-call time (forward). */
  firstMs: number;
  kind: 'adapt' | 'forward';
}

export function throughputRows(results: BenchResults): ThroughputRow[] {
  const rows: ThroughputRow[] = results.forward.map((f) => ({
    label: `forward only (${f.engine}, ${f.backend}, batch ${f.batchSize})`,
    imagesPerSec: f.imagesPerSec,
    firstMs: f.firstBatchMs,
    kind: 'forward',
  }));
  for (const method of results.config.methods) {
    const runs = results.runs.filter((r) => r.method === method);
    if (runs.length === 0) continue;
    rows.push({
      label: method,
      imagesPerSec: runImagesPerSec(runs),
      firstMs: avg(runs.map((r) => r.timeToFirstBatchMs)),
      kind: 'adapt',
    });
  }
  return rows;
}

/** Total images over total step time, over all domains of the given runs. */
export function runImagesPerSec(runs: readonly RunResult[]): number {
  let images = 0;
  let ms = 0;
  for (const r of runs) for (const d of r.domains) {
    images += d.images;
    ms += d.ms;
  }
  return ms === 0 ? NaN : (1000 * images) / ms;
}

/** Per-batch error along the stream of one run (seed = the first configured), with domain boundaries. */
export function streamCurve(run: RunResult): { values: number[]; boundaries: { at: number; label: string }[] } {
  const values: number[] = [];
  const boundaries: { at: number; label: string }[] = [];
  for (const d of [...run.domains].sort((a, b) => a.domainIndex - b.domainIndex)) {
    boundaries.push({ at: values.length, label: d.corruption });
    values.push(...d.batchErrorPct);
  }
  return { values, boundaries };
}

export function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** One run's memory and stability over its stream (a soak's report). */
export interface StabilityRow {
  run: string;
  images: number;
  steps: number;
  /** tf.memory().numTensors after the first and the last domain, and the largest after any. */
  tensors: [number, number, number];
  /** MiB: WASM heap or GPU bytes in use after the first and the last domain (undefined when not reported). */
  wasmHeapMiB?: [number, number];
  gpuMiB?: [number, number];
  rollbacks: number;
  collapses: number;
  nonFinite: number;
  /** Adaptation images/s and mean error over the same domains (the soak summary's last columns). */
  imagesPerSec: number;
  meanErrorPct: number;
}

export const STABILITY_COLUMNS = ['run', 'images', 'steps', 'tensors first → last (max)', 'WASM heap MiB', 'GPU MiB', 'rollbacks', 'collapses', 'non-finite predictions'];

/** One stability row as the table cells (same order as STABILITY_COLUMNS), for results.md and report.html alike. */
export function stabilityCells(s: StabilityRow): string[] {
  const span = (p: [number, number] | undefined) => (p ? `${fmt(p[0])} → ${fmt(p[1])}` : '-');
  return [s.run, String(s.images), String(s.steps), `${s.tensors[0]} → ${s.tensors[1]} (${s.tensors[2]})`, span(s.wasmHeapMiB), span(s.gpuMiB), String(s.rollbacks), String(s.collapses), String(s.nonFinite)];
}

/** Runs whose domains recorded memory: first vs last domain, guard counts summed over steps. */
export function stabilityRows(results: BenchResults): StabilityRow[] {
  const mib = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
  return results.runs.flatMap((r) => {
    const ds = r.domains.filter((d) => d.memory !== undefined && d.steps !== undefined);
    if (ds.length === 0) return [];
    const first = ds[0]!.memory!;
    const last = ds.at(-1)!.memory!;
    const total = (stat: string) => Math.round(ds.reduce((s, d) => s + (d.stats[stat] ?? 0) * d.steps!, 0));
    const pair = (a: number | undefined, b: number | undefined): [number, number] | undefined => (a === undefined || b === undefined ? undefined : [a, b]);
    const images = ds.reduce((s, d) => s + d.images, 0);
    return [{
      run: `${r.method} ${r.setting} s${r.seed}`,
      images,
      steps: ds.reduce((s, d) => s + d.steps!, 0),
      tensors: [first.numTensors, last.numTensors, Math.max(...ds.map((d) => d.memory!.numTensors))],
      wasmHeapMiB: pair(mib(first.wasmHeapBytes), mib(last.wasmHeapBytes)),
      gpuMiB: pair(mib(first.gpuBytesInUse), mib(last.gpuBytesInUse)),
      rollbacks: total('guardSkipped'),
      collapses: total('guardCollapses'),
      nonFinite: ds.reduce((s, d) => s + (d.nonFinitePredictions ?? 0), 0),
      imagesPerSec: (1000 * images) / ds.reduce((s, d) => s + d.ms, 0),
      meanErrorPct: ds.reduce((s, d) => s + d.errorPct, 0) / ds.length,
    }];
  });
}
