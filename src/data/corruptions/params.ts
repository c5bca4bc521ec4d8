/**
 * Published parameters of the corruptions, severity 1..5, for the CIFAR generator
 * (make_cifar_c.py, 32x32) and the ImageNet generator (make_imagenet_c.py, 224x224) of
 * hendrycks/robustness. Tuples keep the reference's field order.
 */
export type ParamSetName = 'cifar' | 'imagenet';

type Five<T> = readonly [T, T, T, T, T];

export interface CorruptionParams {
  gaussian_noise: Five<number>;
  shot_noise: Five<number>;
  impulse_noise: Five<number>;
  speckle_noise: Five<number>;
  gaussian_blur: Five<number>;
  /** [sigma, max_delta, iterations] */
  glass_blur: Five<readonly [number, number, number]>;
  /** [radius, alias_blur] */
  defocus_blur: Five<readonly [number, number]>;
  /** [radius, sigma] */
  motion_blur: Five<readonly [number, number]>;
  /** numpy.arange(1, stop, step) zoom factors: [stop, step] */
  zoom_blur: Five<readonly [number, number]>;
  /** [c, wibble_decay] */
  fog: Five<readonly [number, number]>;
  /** [image_weight, frost_weight] */
  frost: Five<readonly [number, number]>;
  /** overlay rescale factor before cropping */
  frostScale: number;
  /** [mean, std, zoom, threshold, blur_radius, blur_sigma, blend] */
  snow: Five<readonly [number, number, number, number, number, number, number]>;
  /** [loc, scale, sigma, threshold, intensity, mode (0 water, 1 mud)] */
  spatter: Five<readonly [number, number, number, number, number, number]>;
  contrast: Five<number>;
  brightness: Five<number>;
  /** [scale, offset] of the HSV saturation */
  saturate: Five<readonly [number, number]>;
  jpeg_compression: Five<number>;
  pixelate: Five<number>;
  /** [alpha, sigma, affine] in pixels */
  elastic_transform: Five<readonly [number, number, number]>;
}

const S = 32;
const CIFAR: CorruptionParams = {
  gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.1],
  shot_noise: [500, 250, 100, 75, 50],
  impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
  speckle_noise: [0.06, 0.1, 0.12, 0.16, 0.2],
  gaussian_blur: [0.4, 0.6, 0.7, 0.8, 1],
  glass_blur: [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
  defocus_blur: [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
  motion_blur: [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
  zoom_blur: [[1.06, 0.01], [1.11, 0.01], [1.16, 0.01], [1.21, 0.01], [1.26, 0.01]],
  fog: [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
  frost: [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
  frostScale: 0.2,
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.95],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.9],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8],
  ],
  spatter: [
    [0.62, 0.1, 0.7, 0.7, 0.5, 0],
    [0.65, 0.1, 0.8, 0.7, 0.5, 0],
    [0.65, 0.3, 1, 0.69, 0.5, 0],
    [0.65, 0.1, 0.7, 0.69, 0.6, 1],
    [0.65, 0.1, 0.5, 0.68, 0.6, 1],
  ],
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
  brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
  saturate: [[0.3, 0], [0.1, 0], [1.5, 0], [2, 0.1], [2.5, 0.2]],
  jpeg_compression: [80, 65, 58, 50, 40],
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
  elastic_transform: [
    [S * 0, S * 0, S * 0.08],
    [S * 0.05, S * 0.2, S * 0.07],
    [S * 0.08, S * 0.06, S * 0.06],
    [S * 0.1, S * 0.04, S * 0.05],
    [S * 0.1, S * 0.03, S * 0.03],
  ],
};

// The ImageNet generator scales elastic parameters by 244 (a typo for 224 it kept).
const I = 244;
const IMAGENET: CorruptionParams = {
  gaussian_noise: [0.08, 0.12, 0.18, 0.26, 0.38],
  shot_noise: [60, 25, 12, 5, 3],
  impulse_noise: [0.03, 0.06, 0.09, 0.17, 0.27],
  speckle_noise: [0.15, 0.2, 0.35, 0.45, 0.6],
  gaussian_blur: [1, 2, 3, 4, 6],
  glass_blur: [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]],
  defocus_blur: [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]],
  motion_blur: [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]],
  zoom_blur: [[1.11, 0.01], [1.16, 0.01], [1.21, 0.02], [1.26, 0.02], [1.31, 0.03]],
  fog: [[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]],
  frost: [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]],
  frostScale: 1,
  snow: [
    [0.1, 0.3, 3, 0.5, 10, 4, 0.8],
    [0.2, 0.3, 2, 0.5, 12, 4, 0.7],
    [0.55, 0.3, 4, 0.9, 12, 8, 0.7],
    [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65],
    [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55],
  ],
  spatter: [
    [0.65, 0.3, 4, 0.69, 0.6, 0],
    [0.65, 0.3, 3, 0.68, 0.6, 0],
    [0.65, 0.3, 2, 0.68, 0.5, 0],
    [0.65, 0.3, 1, 0.65, 1.5, 1],
    [0.67, 0.4, 1, 0.65, 1.5, 1],
  ],
  contrast: [0.4, 0.3, 0.2, 0.1, 0.05],
  brightness: [0.1, 0.2, 0.3, 0.4, 0.5],
  saturate: [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]],
  jpeg_compression: [25, 18, 15, 10, 7],
  pixelate: [0.6, 0.5, 0.4, 0.3, 0.25],
  elastic_transform: [
    [I * 2, I * 0.7, I * 0.1],
    [I * 2, I * 0.08, I * 0.2],
    [I * 0.05, I * 0.01, I * 0.02],
    [I * 0.07, I * 0.01, I * 0.02],
    [I * 0.12, I * 0.01, I * 0.02],
  ],
};

export const PARAM_SETS: Readonly<Record<ParamSetName, CorruptionParams>> = { cifar: CIFAR, imagenet: IMAGENET };

/** numpy.arange(1, stop, step): length ceil((stop - 1) / step) in float64, so arange(1, 1.06, .01) has 7 values. */
export function zoomFactors(stop: number, step: number): number[] {
  const n = Math.ceil((stop - 1) / step);
  return Array.from({ length: n }, (_, i) => 1 + i * step);
}
