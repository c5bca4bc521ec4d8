/** Noise corruptions: per-element, seeded draws (the reference used unseeded numpy). */
import type { Rng } from '../../util/rng.ts';
import { clip01, type Raster, raster } from './raster.ts';

export function gaussianNoise(x: Raster, sigma: number, rng: Rng): Raster {
  const out = raster(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i]! + rng.normal(0, sigma);
  return clip01(out);
}

export function speckleNoise(x: Raster, sigma: number, rng: Rng): Raster {
  const out = raster(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i]! * (1 + rng.normal(0, sigma));
  return clip01(out);
}

/** Poisson(x * c) / c per element. */
export function shotNoise(x: Raster, c: number, rng: Rng): Raster {
  const out = raster(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) out.data[i] = poisson(x.data[i]! * c, rng) / c;
  return clip01(out);
}

/** skimage random_noise 's&p': each element flipped with probability `amount`, to 1 or 0 with equal odds. */
export function impulseNoise(x: Raster, amount: number, rng: Rng): Raster {
  const out = raster(x.h, x.w, x.c, x.data.slice());
  for (let i = 0; i < out.data.length; i++) {
    const flip = rng.random() <= amount;
    const salt = rng.random() <= 0.5;
    if (flip) out.data[i] = salt ? 1 : 0;
  }
  return out;
}

const LOG_FACT_SMALL = (() => {
  const t = new Float64Array(16);
  for (let k = 1; k < 16; k++) t[k] = t[k - 1]! + Math.log(k);
  return t;
})();

/** log(k!) exactly for small k, Stirling series (error < 1e-13) above. */
function logFactorial(k: number): number {
  if (k < 16) return LOG_FACT_SMALL[k]!;
  const k2 = k * k;
  return (k + 0.5) * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * k) - 1 / (360 * k * k2) + 1 / (1260 * k2 * k2 * k);
}

/**
 * Poisson sample: multiplication method below 10, Hoermann's transformed rejection
 * (PTRS, as numpy) above, so the cost does not grow with the mean (shot noise uses means up to 500).
 */
export function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rng.random();
    while (p > limit) {
      k++;
      p *= rng.random();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const logLam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.random() - 0.5;
    const v = rng.random();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * logLam - logFactorial(k)) return k;
  }
}
