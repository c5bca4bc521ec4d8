/**
 * Hyper-parameters that let every method do its full step on a tiny model and a few small
 * batches in tests: few augmented views, small memories that fill quickly, and entropy /
 * redundancy margins wide enough that filtering methods select samples.
 */
export const SMALL_SETTINGS: Readonly<Record<string, Record<string, unknown>>> = {
  cotta: { views: 2, anchorThreshold: 1.01 },
  rotta: { updateFrequency: 4, memorySize: 8 },
  stamp: { augViews: 2, alpha: 10, memorySize: 8 },
  eata: { fisherSize: 8, fisherBatchSize: 4, eMarginCoef: 10, dMargin: 2 },
  eta: { eMarginCoef: 10, dMargin: 2 },
  sar: { eMarginCoef: 10, resetConstant: 0 },
};
