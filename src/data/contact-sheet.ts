/** Lay out equally sized uint8 RGB images on a grid (for looking at corruptions). */
import type { DecodedImage } from './decode.ts';

export function contactSheet(rows: readonly (readonly Uint8Array[])[], height: number, width: number, scale = 1, gap = 2): DecodedImage {
  const cols = Math.max(...rows.map((r) => r.length));
  const cw = width * scale;
  const ch = height * scale;
  const W = cols * (cw + gap) + gap;
  const H = rows.length * (ch + gap) + gap;
  const data = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      if (img.length !== height * width * 3) throw new Error(`contactSheet: image (${r}, ${c}) has ${img.length} bytes, expected ${height}x${width}x3`);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          const s = (Math.floor(y / scale) * width + Math.floor(x / scale)) * 3;
          const d = ((gap + r * (ch + gap) + y) * W + gap + c * (cw + gap) + x) * 3;
          data[d] = img[s]!;
          data[d + 1] = img[s + 1]!;
          data[d + 2] = img[s + 2]!;
        }
      }
    }),
  );
  return { height: H, width: W, data };
}
