/**
 * The 15 benchmark corruptions of CIFAR-10-C / ImageNet-C and the 4 extra (validation)
 * ones, severities 1..5, on RgbImage. Seeded through the caller's Rng; results are
 * quantised to 8 bits like the published uint8 data sets, so an image corrupted on the fly
 * equals the same image read back from generated files.
 */
import { Rng } from '../../util/rng.ts';
import { makeImage, type RgbImage } from '../image.ts';
import { defocusBlur, gaussianBlurCorruption, glassBlur, motionBlurCorruption, zoomBlur } from './blur.ts';
import { brightness, contrast, elasticTransform, jpegCompressionMany, pixelate, saturate } from './digital.ts';
import type { FrostOverlays } from './frost.ts';
import { gaussianNoise, impulseNoise, shotNoise, speckleNoise } from './noise.ts';
import { PARAM_SETS, zoomFactors, type ParamSetName } from './params.ts';
import { quantize8, type Raster } from './raster.ts';
import { fog, frost, snow, spatter } from './weather.ts';

/** In the order of the CIFAR-10-C / ImageNet-C tables. */
export const BENCHMARK_CORRUPTIONS = [
  'gaussian_noise', 'shot_noise', 'impulse_noise',
  'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur',
  'snow', 'frost', 'fog',
  'brightness', 'contrast', 'elastic_transform', 'pixelate', 'jpeg_compression',
] as const;

export const EXTRA_CORRUPTIONS = ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate'] as const;

export const ALL_CORRUPTIONS = [...BENCHMARK_CORRUPTIONS, ...EXTRA_CORRUPTIONS] as const;

export type CorruptionName = (typeof ALL_CORRUPTIONS)[number];
export type Severity = 1 | 2 | 3 | 4 | 5;

export interface CorruptOptions {
  rng: Rng;
  /** Parameter set; default 'cifar' for images up to 64 px, else 'imagenet'. */
  params?: ParamSetName;
  /** Needed by 'frost' only. */
  frost?: FrostOverlays;
}

export function isCorruptionName(name: string): name is CorruptionName {
  return (ALL_CORRUPTIONS as readonly string[]).includes(name);
}

export function defaultParamSet(img: { height: number; width: number }): ParamSetName {
  return Math.max(img.height, img.width) <= 64 ? 'cifar' : 'imagenet';
}

/**
 * The generator for one (corruption, severity, image) triple, independent of the order in
 * which images are processed, so chunked or parallel generation gives the same bytes.
 */
export function corruptionRng(seed: number, name: CorruptionName, severity: Severity, index: number): Rng {
  return new Rng(seed).fork(name).fork(severity).fork(index);
}

export function corrupt(name: CorruptionName, img: RgbImage, severity: Severity, opts: CorruptOptions): RgbImage {
  checkArgs(name, severity);
  const p = paramsFor(name, img, opts.params);
  const s = severity - 1;
  const x: Raster = { h: img.height, w: img.width, c: 3, data: img.data };
  const { rng } = opts;
  let out: Raster;
  switch (name) {
    case 'gaussian_noise': out = gaussianNoise(x, p.gaussian_noise[s]!, rng); break;
    case 'shot_noise': out = shotNoise(x, p.shot_noise[s]!, rng); break;
    case 'impulse_noise': out = impulseNoise(x, p.impulse_noise[s]!, rng); break;
    case 'speckle_noise': out = speckleNoise(x, p.speckle_noise[s]!, rng); break;
    case 'defocus_blur': out = defocusBlur(x, ...p.defocus_blur[s]!); break;
    case 'glass_blur': out = glassBlur(x, ...p.glass_blur[s]!, rng); break;
    case 'motion_blur': out = motionBlurCorruption(x, ...p.motion_blur[s]!, rng); break;
    case 'zoom_blur': out = zoomBlur(x, zoomFactors(...p.zoom_blur[s]!)); break;
    case 'gaussian_blur': out = gaussianBlurCorruption(x, p.gaussian_blur[s]!); break;
    case 'snow': out = snow(x, p.snow[s]!, rng); break;
    case 'frost': {
      if (!opts.frost) throw new Error('frost: no overlays given (load them with loadFrostOverlays and pass opts.frost)');
      out = frost(x, ...p.frost[s]!, opts.frost.at(p.frostScale), rng);
      break;
    }
    case 'fog': out = fog(x, ...p.fog[s]!, rng); break;
    case 'spatter': out = spatter(x, p.spatter[s]!, rng); break;
    case 'brightness': out = brightness(x, p.brightness[s]!); break;
    case 'contrast': out = contrast(x, p.contrast[s]!); break;
    case 'saturate': out = saturate(x, ...p.saturate[s]!); break;
    case 'elastic_transform': out = elasticTransform(x, ...p.elastic_transform[s]!, rng); break;
    case 'pixelate': out = pixelate(x, p.pixelate[s]!); break;
    case 'jpeg_compression': out = jpegCompressionMany([x], p.jpeg_compression[s]!)[0]!; break;
  }
  quantize8(out);
  return makeImage(img.height, img.width, out.data);
}

function checkArgs(name: CorruptionName, severity: Severity): void {
  if (!isCorruptionName(name)) throw new Error(`unknown corruption '${String(name)}' (known: ${ALL_CORRUPTIONS.join(', ')})`);
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new Error(`${name}: severity must be 1..5, got ${severity}`);
}

function paramsFor(name: CorruptionName, img: RgbImage, set: ParamSetName | undefined) {
  const setName = set ?? defaultParamSet(img);
  const p = PARAM_SETS[setName];
  if (!p) throw new Error(`${name}: unknown parameter set '${String(setName)}'`);
  return p;
}

/**
 * corrupt() over a batch, image i with `rngFor(i)`; same bytes as one-by-one calls, but
 * jpeg_compression codes the batch in one go (see jpegCompressionMany).
 */
export function corruptMany(
  name: CorruptionName,
  imgs: readonly RgbImage[],
  severity: Severity,
  opts: Omit<CorruptOptions, 'rng'> & { rngFor: (i: number) => Rng },
): RgbImage[] {
  checkArgs(name, severity);
  if (name !== 'jpeg_compression' || imgs.length === 0) {
    return imgs.map((img, i) => corrupt(name, img, severity, { ...opts, rng: opts.rngFor(i) }));
  }
  const q = paramsFor(name, imgs[0]!, opts.params).jpeg_compression[severity - 1]!;
  const outs = jpegCompressionMany(imgs.map((img) => ({ h: img.height, w: img.width, c: 3, data: img.data })), q);
  return outs.map((o) => makeImage(o.h, o.w, quantize8(o).data));
}

export { FrostOverlays, loadFrostOverlays, FROST_FILES } from './frost.ts';
export type { ParamSetName } from './params.ts';
