/** Minimal inline-SVG charts for the self-contained HTML report (no scripts, no external assets). */

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface Series {
  name: string;
  values: number[];
}

const W = 960;
const PAD = { left: 56, right: 16, top: 16, bottom: 96 };

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= x)!;
}

function yAxis(height: number, max: number, label: string): string {
  const plotH = height - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = PAD.top + plotH * (1 - f);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${+(max * f).toFixed(2)}</text>`;
  });
  return `${ticks.join('')}<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`;
}

function legend(series: readonly Series[], y: number): string {
  return series
    .map((s, i) => {
      const x = PAD.left + (i % 8) * 110;
      const yy = y + Math.floor(i / 8) * 16;
      return `<rect x="${x}" y="${yy - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${yy}">${escapeXml(s.name)}</text>`;
    })
    .join('');
}

function frame(height: number, body: string, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="11"><title>${escapeXml(title)}</title>${body}</svg>`;
}

/** One group of bars per category, one bar per series. */
export function groupedBarChart(title: string, categories: readonly string[], series: readonly Series[], yLabel: string): string {
  const height = 360 + Math.ceil(series.length / 8) * 16;
  const plotH = height - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 0));
  const groupW = (W - PAD.left - PAD.right) / Math.max(1, categories.length);
  const barW = (groupW * 0.8) / Math.max(1, series.length);
  const bars: string[] = [];
  series.forEach((s, i) =>
    s.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      const h = (plotH * v) / max;
      const x = PAD.left + j * groupW + groupW * 0.1 + i * barW;
      bars.push(`<rect x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${s.name}, ${categories[j]}: ${v.toFixed(2)}`)}</title></rect>`);
    }),
  );
  const labels = categories.map((c, j) => {
    const x = PAD.left + (j + 0.5) * groupW;
    return `<text transform="translate(${x.toFixed(1)} ${PAD.top + plotH + 8}) rotate(40)">${escapeXml(c)}</text>`;
  });
  return frame(height, yAxis(height, max, yLabel) + bars.join('') + labels.join('') + legend(series, height - 20 - Math.floor((series.length - 1) / 8) * 16), title);
}

/** Lines over a shared x axis (index), with labelled vertical markers (domain changes). */
export function lineChart(title: string, series: readonly Series[], markers: readonly { at: number; label: string }[], yLabel: string, xLabel: string): string {
  const height = 360 + Math.ceil(series.length / 8) * 16;
  const plotH = height - PAD.top - PAD.bottom;
  const plotW = W - PAD.left - PAD.right;
  const len = Math.max(1, ...series.map((s) => s.values.length));
  const max = niceMax(Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 0));
  // Point i sits in the middle of slot i; a marker at `at` is the left edge of slot `at`.
  const x = (i: number) => PAD.left + (plotW * (i + 0.5)) / len;
  const edge = (at: number) => PAD.left + (plotW * at) / len;
  const y = (v: number) => PAD.top + plotH * (1 - v / max);
  const marks = markers.map(
    (m) => `<line x1="${edge(m.at).toFixed(1)}" x2="${edge(m.at).toFixed(1)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#999" stroke-dasharray="3 3"/><text transform="translate(${(edge(m.at) + 2).toFixed(1)} ${PAD.top + plotH + 8}) rotate(40)">${escapeXml(m.label)}</text>`,
  );
  const lines = series.map((s, i) => {
    const pts = s.values.map((v, j) => (Number.isFinite(v) ? `${x(j).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
    return `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.5" points="${pts.join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`;
  });
  const xl = `<text x="${PAD.left + plotW / 2}" y="${height - 34 - Math.floor((series.length - 1) / 8) * 16}" text-anchor="middle">${escapeXml(xLabel)}</text>`;
  return frame(height, yAxis(height, max, yLabel) + marks.join('') + lines.join('') + xl + legend(series, height - 20 - Math.floor((series.length - 1) / 8) * 16), title);
}

/** Horizontal bars with their value printed. */
export function horizontalBarChart(title: string, rows: readonly { label: string; value: number; color?: string }[], unit: string): string {
  const rowH = 22;
  const left = 320;
  const height = 24 + rows.length * rowH;
  const max = niceMax(Math.max(...rows.map((r) => r.value).filter(Number.isFinite), 0));
  const body = rows.map((r, i) => {
    const yy = 8 + i * rowH;
    const w = Number.isFinite(r.value) ? ((W - left - 90) * r.value) / max : 0;
    return `<text x="${left - 6}" y="${yy + 14}" text-anchor="end">${escapeXml(r.label)}</text><rect x="${left}" y="${yy + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${r.color ?? PALETTE[0]}"/><text x="${(left + w + 4).toFixed(1)}" y="${yy + 14}">${Number.isFinite(r.value) ? r.value.toFixed(1) : '-'} ${escapeXml(unit)}</text>`;
  });
  return frame(height, body.join(''), title);
}
