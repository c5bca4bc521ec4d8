/**
 * Small canvas charts for the live demo (no chart library): line charts of per-batch
 * quantities with one line per model lane, and grouped bars of the predicted-class
 * distribution. Sized to the element's CSS box and the device pixel ratio on each draw.
 */
export interface LineSeries {
  label: string;
  color: string;
  values: readonly number[];
  dashed?: boolean;
}

const AXIS = '#8a94a6';
const TEXT = '#273142';
const FONT = '11px system-ui, sans-serif';

function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2d context unavailable');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  ctx.textAlign = 'left';
  return { ctx, w, h };
}

/** Line chart; y range fixed when given (e.g. [0, 1] for accuracy), else fitted to the data. */
export function drawLines(canvas: HTMLCanvasElement, title: string, series: readonly LineSeries[], yRange?: [number, number]): void {
  const { ctx, w, h } = prepare(canvas);
  const pad = { l: 34, r: 8, t: 18, b: 16 };
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  let [lo, hi] = yRange ?? [Math.min(0, ...finite), Math.max(1e-6, ...finite)];
  if (hi - lo < 1e-9) hi = lo + 1;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const x = (i: number) => pad.l + (i / (n - 1)) * (w - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'top';
  ctx.fillText(title, pad.l, 2);
  ctx.strokeStyle = AXIS;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.l, pad.t);
  ctx.lineTo(pad.l, h - pad.b);
  ctx.lineTo(w - pad.r, h - pad.b);
  ctx.stroke();
  ctx.fillStyle = AXIS;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.fillText(formatTick(hi), pad.l - 3, y(hi));
  ctx.fillText(formatTick(lo), pad.l - 3, y(lo));
  ctx.textAlign = 'left';
  // Legend on the title line, right-aligned: newest value of each lane.
  let lx = w - pad.r;
  ctx.textBaseline = 'top';
  for (const s of [...series].reverse()) {
    const last = s.values[s.values.length - 1];
    const text = `${s.label} ${last === undefined || !Number.isFinite(last) ? '-' : formatTick(last)}`;
    lx -= ctx.measureText(text).width;
    ctx.fillStyle = s.color;
    ctx.fillText(text, lx, 2);
    lx -= 10;
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.8;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
      pen = true;
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** Grouped bars: for each class, one bar per lane (fractions of predictions). */
export function drawBars(canvas: HTMLCanvasElement, title: string, classNames: readonly string[], lanes: readonly { color: string; fractions: readonly number[] }[]): void {
  const { ctx, w, h } = prepare(canvas);
  const pad = { l: 8, r: 8, t: 18, b: 16 };
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'top';
  ctx.fillText(title, pad.l, 2);
  const c = classNames.length;
  if (c === 0 || lanes.length === 0) return;
  const max = Math.max(1e-6, ...lanes.flatMap((l) => l.fractions));
  const groupW = (w - pad.l - pad.r) / c;
  const barW = Math.max(1, (groupW * 0.8) / lanes.length);
  const base = h - pad.b;
  lanes.forEach((lane, li) => {
    ctx.fillStyle = lane.color;
    for (let k = 0; k < c; k++) {
      const v = lane.fractions[k] ?? 0;
      const bh = (v / max) * (base - pad.t);
      ctx.fillRect(pad.l + k * groupW + groupW * 0.1 + li * barW, base - bh, barW, bh);
    }
  });
  // Class names only when they fit under their group (ImageNet has 1000).
  if (groupW >= 26) {
    ctx.fillStyle = AXIS;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    classNames.forEach((name, k) => {
      const label = name.length * 6 > groupW ? name.slice(0, Math.max(2, Math.floor(groupW / 6))) : name;
      ctx.fillText(label, pad.l + (k + 0.5) * groupW, base + 2);
    });
  }
}

function formatTick(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}
