/** HSV conversions as skimage.color (h, s, v in [0, 1]; ties pick blue over green over red for hue). */
import { clip01, raster, type Raster } from './raster.ts';

export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : delta / v;
  if (delta === 0) return [0, s, v];
  let h: number;
  if (b === v) h = 4 + (r - g) / delta;
  else if (g === v) h = 2 + (b - r) / delta;
  else h = (g - b) / delta;
  h /= 6;
  h -= Math.floor(h);
  return [h, s, v];
}

export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const h6 = h * 6;
  const i = Math.floor(h6);
  const f = h6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (((i % 6) + 6) % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/** Apply f to every pixel's (h, s, v), clipping s and v to [0, 1]. */
export function mapHsv(x: Raster, f: (hsv: [number, number, number]) => void): Raster {
  const out = raster(x.h, x.w, 3);
  for (let i = 0; i < x.data.length; i += 3) {
    const hsv = rgbToHsv(x.data[i]!, x.data[i + 1]!, x.data[i + 2]!);
    f(hsv);
    const rgb = hsvToRgb(hsv[0], Math.min(Math.max(hsv[1], 0), 1), Math.min(Math.max(hsv[2], 0), 1));
    out.data[i] = rgb[0];
    out.data[i + 1] = rgb[1];
    out.data[i + 2] = rgb[2];
  }
  return clip01(out);
}
