/** report.html: one self-contained page (inline CSS and SVG, no scripts), viewable offline. */
import type { BenchResults, DomainResult } from '../bench/types.ts';
import { describeRun } from './markdown.ts';
import { buildTables, fmt, primaryMetric, STABILITY_COLUMNS, stabilityCells, stabilityRows, streamCurve, throughputRows, type Table } from './summary.ts';
import { escapeXml, groupedBarChart, horizontalBarChart, lineChart, PALETTE } from './svg.ts';

const CSS = `body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}td.best{font-weight:bold;background:#eef6ee}h2{margin-top:2em}`;

/** Moving average so hundreds of batches read as a curve. */
export function smooth(values: readonly number[], window: number): number[] {
  if (window <= 1) return [...values];
  return values.map((_, i) => {
    const lo = Math.max(0, i - window + 1);
    const slice = values.slice(lo, i + 1).filter(Number.isFinite);
    return slice.length ? slice.reduce((a, b) => a + b, 0) / slice.length : NaN;
  });
}

function tableHtml(table: Table, lowerIsBetter: boolean): string {
  const best = table.columns.map((_, j) => {
    const vals = table.rows.map((r) => r.values[j]!).filter(Number.isFinite);
    return vals.length ? (lowerIsBetter ? Math.min(...vals) : Math.max(...vals)) : NaN;
  });
  const means = table.rows.map((r) => r.mean).filter(Number.isFinite);
  const bestMean = means.length ? (lowerIsBetter ? Math.min(...means) : Math.max(...means)) : NaN;
  const head = `<tr><th>method</th>${table.columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}<th>mean</th></tr>`;
  const rows = table.rows.map((r) => {
    const cells = r.values.map((v, j) => `<td${v === best[j] ? ' class="best"' : ''}>${fmt(v)}</td>`).join('');
    const mean = r.meanStd === undefined ? fmt(r.mean) : `${fmt(r.mean)} ± ${fmt(r.meanStd)}`;
    return `<tr><td>${escapeXml(r.method)}</td>${cells}<td${r.mean === bestMean ? ' class="best"' : ''}>${mean}</td></tr>`;
  });
  return `<table>${head}${rows.join('')}</table>`;
}

export function renderHtml(results: BenchResults): string {
  const metric = primaryMetric(results);
  const parts: string[] = [`<h1>webtta benchmark</h1><ul>${describeRun(results).map((l) => `<li>${escapeXml(l.replace(/^- /, ''))}</li>`).join('')}</ul>`];
  for (const table of buildTables(results)) {
    parts.push(`<h2>${escapeXml(`${metric.label}, ${table.setting}`)}</h2>`, tableHtml(table, metric.lowerIsBetter));
    parts.push(
      groupedBarChart(
        `${metric.label} per domain, ${table.setting}`,
        table.columns,
        table.rows.map((r) => ({ name: r.method, values: r.values })),
        metric.label,
      ),
    );
    const seed = results.config.seeds[0];
    const runs = results.config.methods
      .map((m) => results.runs.find((r) => r.method === m && r.setting === table.setting && r.seed === seed))
      .filter((r) => r !== undefined);
    // A mixed stream has no domain-by-domain order to plot.
    if (runs.length > 0 && table.setting !== 'mixed_domains') {
      const curves = runs.map((r) => ({ name: r.method, ...streamCurve(r) }));
      const len = Math.max(...curves.map((c) => c.values.length));
      const window = Math.max(1, Math.round(len / 60));
      const batchLabel = metric.key === 'mIoU' ? 'pixel error (%)' : 'error (%)';
      parts.push(
        `<h3>${escapeXml(`Along the stream, ${table.setting}, seed ${seed}`)}</h3>`,
        lineChart(
          `${batchLabel} per batch along the stream (${table.setting}, seed ${seed})`,
          curves.map((c) => ({ name: c.name, values: smooth(c.values, window) })),
          curves[0]!.boundaries,
          `${batchLabel}${window > 1 ? `, mean of ${window} batches` : ''}`,
          "batch (each method's batch size: see above)",
        ),
      );
    }
  }
  const tput = throughputRows(results);
  parts.push(
    '<h2>Throughput</h2>',
    horizontalBarChart(
      'images per second',
      // Methods keep the colours they have in the other charts.
      tput.map((r) => ({
        label: r.kind === 'adapt' ? `adapt: ${r.label}` : r.label,
        value: r.imagesPerSec,
        color: r.kind === 'forward' ? '#888' : PALETTE[results.config.methods.indexOf(r.label) % PALETTE.length],
      })),
      'images/s',
    ),
    `<table><tr><th></th><th>images/s</th><th>first batch (ms)</th></tr>${tput
      .map((r) => `<tr><td>${escapeXml(r.kind === 'adapt' ? `adapt: ${r.label}` : r.label)}</td><td>${fmt(r.imagesPerSec)}</td><td>${fmt(r.firstMs, 0)}</td></tr>`)
      .join('')}</table>`,
  );
  const stability = stabilityRows(results);
  if (stability.length > 0) {
    const withMemory = results.runs.filter((r) => r.domains.some((d) => d.memory));
    const perDomain = (pick: (m: NonNullable<DomainResult['memory']>) => number | undefined) =>
      withMemory.map((r) => ({ name: `${r.method} ${r.setting} s${r.seed}`, values: r.domains.map((d) => (d.memory ? (pick(d.memory) ?? NaN) : NaN)) }));
    parts.push(
      '<h2>Memory and stability</h2>',
      lineChart('live tensors after each domain (flat = no leak)', perDomain((m) => m.numTensors), [], 'tensors', 'domain'),
      lineChart('WASM heap after each domain (MiB)', perDomain((m) => (m.wasmHeapBytes === undefined ? undefined : m.wasmHeapBytes / 2 ** 20)), [], 'MiB', 'domain'),
      `<table><tr>${STABILITY_COLUMNS.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>${stability
        .map((s) => `<tr>${stabilityCells(s).map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`)
        .join('')}</table>`,
    );
  }
  // The raw numbers travel with the page; '<' is escaped so the JSON cannot close the tag.
  const json = JSON.stringify(results).replace(/</g, '\\u003c');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>webtta benchmark - ${escapeXml(results.model.name)}</title><style>${CSS}</style></head><body>${parts.join('\n')}<script type="application/json" id="results">${json}</script></body></html>\n`;
}
