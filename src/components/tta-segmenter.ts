/** <tta-segmenter>: the last frame with the adapted model's per-pixel classes blended over it. */
import { TTAElement, type TTAStepDetail } from './tta-element.ts';

/** A fixed, well-separated colour per class index (golden-angle hues). */
export function classColor(k: number): [number, number, number] {
  const hue = (k * 137.508) % 360;
  const f = (n: number) => {
    const a = 0.6 * Math.min(0.5, 1 - 0.5);
    const t = (n + hue / 30) % 12;
    return Math.round(255 * (0.5 - a * Math.max(-1, Math.min(t - 3, 9 - t, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Blend class colours over RGB pixels: out = (1 - alpha) * image + alpha * colour. */
export function overlay(rgb: Uint8Array, labels: Int32Array, alpha: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(labels.length * 4);
  for (let p = 0; p < labels.length; p++) {
    const c = classColor(labels[p]!);
    for (let ch = 0; ch < 3; ch++) out[4 * p + ch] = (1 - alpha) * rgb[3 * p + ch]! + alpha * c[ch]!;
    out[4 * p + 3] = 255;
  }
  return out;
}

export class TTASegmenter extends TTAElement {
  protected readonly defaultModel = 'camvid-unet';

  protected render(detail: TTAStepDetail): void {
    const [n, h, w] = detail.shape;
    const pred = detail.step.lanes.adapted!;
    const last = n - 1;
    const labels = pred.labels.subarray(last * h * w, n * h * w);
    const canvas = this.frameCanvas;
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(w, h);
    img.data.set(overlay(detail.images.subarray(last * h * w * 3, n * h * w * 3), labels, 0.5));
    ctx.putImageData(img, 0, 0);
    const counts = new Map<number, number>();
    labels.forEach((k) => counts.set(k, (counts.get(k) ?? 0) + 1));
    const names = this.card!.classNames;
    const rows: Node[] = [];
    for (const [k, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      const [r, g, b] = classColor(k);
      const swatch = document.createElement('span');
      swatch.style.cssText = `display:inline-block;width:10px;height:10px;background:rgb(${r},${g},${b})`;
      const label = document.createElement('span');
      label.textContent = `${names[k] ?? `class ${k}`} ${((100 * count) / labels.length).toFixed(0)}%`;
      rows.push(swatch, label);
    }
    this.outEl.replaceChildren(...rows);
  }
}
