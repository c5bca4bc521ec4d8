/** results.md: RobustBench-style tables (methods x corruptions + mean) and throughput. */
import type { BenchResults } from '../bench/types.ts';
import { buildTables, fmt, primaryMetric, STABILITY_COLUMNS, stabilityCells, stabilityRows, throughputRows } from './summary.ts';

/** Batch size each method ran with (from its runs), grouped: '200 (source, tent), 64 (rotta)'. */
export function batchSizesLine(results: BenchResults): string {
  const range = results.config.batchRange;
  if (range) return `- batch size: drawn per batch from ${range.min}-${range.max} (seeded) for every method; set by --batch`;
  const groups = new Map<number, string[]>();
  for (const m of results.config.methods) {
    const size = results.runs.find((r) => r.method === m)?.batchSize ?? results.config.batchSizes[m]!;
    groups.set(size, [...(groups.get(size) ?? []), m]);
  }
  const sizes = [...groups].map(([size, ms]) => `${size} (${ms.join(', ')})`).join(', ');
  return `- batch size: ${sizes}; ${results.config.batchSize === undefined ? "each method's published size for the data set" : 'set by --batch'}`;
}

export function describeRun(results: BenchResults): string[] {
  const c = results.config;
  const e = results.environment;
  const card = results.model.card;
  const status = card && typeof card.status === 'string' ? ` (card status: ${card.status}${card.epoch !== undefined ? `, epoch ${String(card.epoch)}` : ''})` : '';
  return [
    `- model: ${results.model.name}${status}, sha256 ${results.model.hash}`,
    `- data: ${c.dataset.kind} from ${c.dataset.source}; ${c.n} images per domain; severities ${c.severities.join(', ')}; seeds ${c.seeds.join(', ')}`,
    batchSizesLine(results),
    `- backend: ${e.backend.backend}${e.backend.wasmThreads ? ` (${e.backend.wasmThreads} threads)` : ''}; browser ${e.browserVersion}; ${e.machine.cpus} x ${e.machine.cpuModel}, ${e.machine.platform}/${e.machine.arch}`,
    `- run: ${results.startedAt} to ${results.finishedAt}`,
  ];
}

export function renderMarkdown(results: BenchResults): string {
  const metric = primaryMetric(results);
  const out: string[] = ['# webtta benchmark', '', ...describeRun(results), ''];
  for (const table of buildTables(results)) {
    out.push(`## ${metric.label}, ${table.setting}`, '');
    out.push(`| method | ${table.columns.join(' | ')} | mean |`);
    out.push(`|---|${table.columns.map(() => '---:').join('|')}|---:|`);
    for (const row of table.rows) {
      const mean = row.meanStd === undefined ? fmt(row.mean) : `${fmt(row.mean)} ± ${fmt(row.meanStd)}`;
      out.push(`| ${row.method} | ${row.values.map((v) => fmt(v)).join(' | ')} | ${mean} |`);
    }
    const seeds = table.rows[0]?.seeds ?? 0;
    out.push('', seeds > 1 ? `Mean over ${seeds} seeds; ± is the standard deviation of the mean across seeds.` : '', '');
  }
  const openSet = results.runs.some((r) => r.domains.some((d) => d.auroc !== undefined));
  if (openSet) {
    out.push('## Open-set (mean over domains and seeds)', '', '| setting | method | AUROC (%) | H-score (%) |', '|---|---|---:|---:|');
    for (const setting of results.config.settings) {
      for (const method of results.config.methods) {
        const ds = results.runs.filter((r) => r.setting === setting && r.method === method).flatMap((r) => r.domains);
        const a = ds.map((d) => d.auroc).filter((x): x is number => x !== undefined);
        const h = ds.map((d) => d.hScore).filter((x): x is number => x !== undefined);
        if (a.length === 0) continue;
        const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
        out.push(`| ${setting} | ${method} | ${fmt(100 * mean(a))} | ${fmt(100 * mean(h))} |`);
      }
    }
    out.push('');
  }
  out.push('## Throughput', '', '| | images/s | first batch (ms) |', '|---|---:|---:|');
  for (const row of throughputRows(results)) {
    out.push(`| ${row.kind === 'adapt' ? `adapt: ${row.label}` : row.label} | ${fmt(row.imagesPerSec)} | ${fmt(row.firstMs, 0)} |`);
  }
  out.push('');
  const stability = stabilityRows(results);
  if (stability.length > 0) {
    out.push('## Memory and stability', '', 'After the first → the last domain; guard counts over the whole stream.', '');
    out.push(`| ${STABILITY_COLUMNS.join(' | ')} |`, `|---|${STABILITY_COLUMNS.slice(1).map(() => '---:').join('|')}|`);
    for (const s of stability) out.push(`| ${stabilityCells(s).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * One table over several soak result sets (docs/soak.md): each run's stability row plus its
 * adaptation images/s and mean error over the domains.
 */
export function renderSoakTable(sets: BenchResults[]): string {
  const out = [`| ${[...STABILITY_COLUMNS, 'img/s', 'mean error %'].join(' | ')} |`, `|---|${[...STABILITY_COLUMNS.slice(1), '', ''].map(() => '---:').join('|')}|`];
  for (const s of sets.flatMap(stabilityRows)) out.push(`| ${[...stabilityCells(s), fmt(s.imagesPerSec, 0), fmt(s.meanErrorPct)].join(' | ')} |`);
  return out.join('\n');
}
