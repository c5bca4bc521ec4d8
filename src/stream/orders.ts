/** Domain orders and label orders used by the TTA protocols. */
import { BENCHMARK_CORRUPTIONS, type CorruptionName, type Severity } from '../data/corruptions/index.ts';
import { Rng } from '../util/rng.ts';

/** The 10 ImageNet-C corruption orders of CoTTA (qinenergy/cotta imagenet/cfgs/10orders, order 0..9). */
export const COTTA_IMAGENET_ORDERS: readonly (readonly CorruptionName[])[] = [
  ['brightness', 'pixelate', 'gaussian_noise', 'motion_blur', 'zoom_blur', 'glass_blur', 'impulse_noise', 'jpeg_compression', 'defocus_blur', 'elastic_transform', 'shot_noise', 'frost', 'snow', 'fog', 'contrast'],
  ['jpeg_compression', 'shot_noise', 'zoom_blur', 'frost', 'contrast', 'fog', 'defocus_blur', 'elastic_transform', 'gaussian_noise', 'brightness', 'glass_blur', 'impulse_noise', 'pixelate', 'snow', 'motion_blur'],
  ['contrast', 'defocus_blur', 'gaussian_noise', 'shot_noise', 'snow', 'frost', 'glass_blur', 'zoom_blur', 'elastic_transform', 'jpeg_compression', 'pixelate', 'brightness', 'impulse_noise', 'motion_blur', 'fog'],
  ['shot_noise', 'fog', 'glass_blur', 'pixelate', 'snow', 'elastic_transform', 'brightness', 'impulse_noise', 'defocus_blur', 'frost', 'contrast', 'gaussian_noise', 'motion_blur', 'jpeg_compression', 'zoom_blur'],
  ['pixelate', 'glass_blur', 'zoom_blur', 'snow', 'fog', 'impulse_noise', 'brightness', 'motion_blur', 'frost', 'jpeg_compression', 'gaussian_noise', 'shot_noise', 'contrast', 'defocus_blur', 'elastic_transform'],
  ['motion_blur', 'snow', 'fog', 'shot_noise', 'defocus_blur', 'contrast', 'zoom_blur', 'brightness', 'frost', 'elastic_transform', 'glass_blur', 'gaussian_noise', 'pixelate', 'jpeg_compression', 'impulse_noise'],
  ['frost', 'impulse_noise', 'jpeg_compression', 'contrast', 'zoom_blur', 'glass_blur', 'pixelate', 'snow', 'defocus_blur', 'motion_blur', 'brightness', 'elastic_transform', 'shot_noise', 'fog', 'gaussian_noise'],
  ['glass_blur', 'zoom_blur', 'impulse_noise', 'fog', 'snow', 'jpeg_compression', 'gaussian_noise', 'frost', 'shot_noise', 'brightness', 'contrast', 'motion_blur', 'pixelate', 'defocus_blur', 'elastic_transform'],
  ['defocus_blur', 'motion_blur', 'zoom_blur', 'shot_noise', 'gaussian_noise', 'glass_blur', 'jpeg_compression', 'fog', 'contrast', 'pixelate', 'frost', 'snow', 'brightness', 'elastic_transform', 'impulse_noise'],
  ['contrast', 'gaussian_noise', 'defocus_blur', 'zoom_blur', 'frost', 'glass_blur', 'jpeg_compression', 'fog', 'pixelate', 'elastic_transform', 'shot_noise', 'impulse_noise', 'snow', 'motion_blur', 'brightness'],
];

/** CoTTA's ImageNet-C order number `i` (0..9). */
export function cottaImagenetOrder(i: number): readonly CorruptionName[] {
  const order = COTTA_IMAGENET_ORDERS[i];
  if (!order) throw new Error(`CoTTA ImageNet-C orders are numbered 0..9, got ${i}`);
  return order;
}

/** The benchmark order (CIFAR-10-C continual protocol), or a seeded shuffle of it. */
export function corruptionOrder(seed?: number): CorruptionName[] {
  const names = [...BENCHMARK_CORRUPTIONS];
  return seed === undefined ? names : new Rng(seed).fork('corruption-order').shuffle(names);
}

/** Gradual severity: every corruption at 1, 2, 3, 4, 5, 4, 3, 2, 1 in turn. */
export function gradualSchedule(names: readonly CorruptionName[]): { corruption: CorruptionName; severity: Severity }[] {
  const up: Severity[] = [1, 2, 3, 4, 5, 4, 3, 2, 1];
  return names.flatMap((corruption) => up.map((severity) => ({ corruption, severity })));
}

/**
 * RoTTA's label-correlated order (LabelDirichletDomainSequence): each class's items are
 * split over `slots` time slots by a Dirichlet(gamma) draw; within a slot the class
 * chunks come in random order. Small gamma = long single-class runs. Returns positions into `labels`.
 */
export function dirichletOrder(labels: Int32Array, gamma: number, rng: Rng, slots?: number): number[] {
  if (!(gamma > 0)) throw new Error(`Dirichlet concentration must be > 0, got ${gamma}`);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const numSlots = slots ?? Math.min(classes.length, 100);
  const slotChunks: number[][][] = Array.from({ length: numSlots }, () => []);
  for (const y of classes) {
    const ids: number[] = [];
    labels.forEach((l, i) => {
      if (l === y) ids.push(i);
    });
    let dist = rng.dirichlet(new Array<number>(numSlots).fill(gamma));
    // Gamma draws with tiny shapes can underflow to all zeros: fall back to one random slot.
    if (!dist.every(Number.isFinite)) {
      const pick = rng.int(0, numSlots);
      dist = dist.map((_, s) => (s === pick ? 1 : 0));
    }
    let cum = 0;
    let prev = 0;
    for (let s = 0; s < numSlots; s++) {
      cum += dist[s]!;
      const cut = s === numSlots - 1 ? ids.length : Math.trunc(cum * ids.length);
      slotChunks[s]!.push(ids.slice(prev, Math.max(prev, cut)));
      prev = Math.max(prev, cut);
    }
  }
  return slotChunks.flatMap((chunks) => rng.shuffle([...chunks]).flat());
}
