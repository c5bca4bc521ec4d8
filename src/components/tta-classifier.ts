/** <tta-classifier>: shows the last frame and the adapted (and source) top-1 label with its probability. */
import { TTAElement, type TTAStepDetail } from './tta-element.ts';

export class TTAClassifier extends TTAElement {
  protected readonly defaultModel = 'cifar10-resnet26';

  protected render(detail: TTAStepDetail): void {
    const [n, h, w] = detail.shape;
    const last = n - 1;
    drawRgb(this.frameCanvas, detail.images.subarray(last * h * w * 3, n * h * w * 3), h, w);
    const names = this.card!.classNames;
    const rows: Node[] = [];
    for (const [lane, pred] of Object.entries(detail.step.lanes)) {
      const c = pred.shape[1]!;
      const cls = pred.labels[last]!;
      const name = document.createElement('span');
      name.className = 'lane';
      name.textContent = lane;
      const value = document.createElement('span');
      value.dataset.lane = lane;
      // Class names come from a file: textContent only, never markup.
      value.textContent = `${names[cls] ?? `class ${cls}`} ${(100 * pred.probs[last * c + cls]!).toFixed(0)}%`;
      rows.push(name, value);
    }
    this.outEl.replaceChildren(...rows);
  }
}

export function drawRgb(canvas: HTMLCanvasElement, rgb: Uint8Array, h: number, w: number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    img.data[4 * p] = rgb[3 * p]!;
    img.data[4 * p + 1] = rgb[3 * p + 1]!;
    img.data[4 * p + 2] = rgb[3 * p + 2]!;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
