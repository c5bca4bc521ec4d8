/**
 * Custom kernels for the TTA hot paths, registered on import: a lazily differentiated padded
 * convolution (all backends), fused training BatchNorm (WebAssembly SIMD on the wasm heap, JS
 * loops on cpu memory, WGSL on webgpu), softmax entropy (JS loops on wasm / cpu, WGSL) and
 * fused parameter updates (EMA, SAM, stochastic restore, Adam, SGD).
 * Which backends use the fused ops by default: see hasFusedBatchNorm / hasFusedEntropy.
 */
import './webgpu.ts';

export { paddedConv, PADDED_CONV, type ConvAttrs } from './conv2d-op.ts';
export { batchNormTrain, channelAffine, hasFusedBatchNorm, useFusedBatchNorm } from './batch-norm.ts';
export { useSimdBatchNorm } from './batch-norm-simd.ts';
export { softmaxEntropyFused, hasFusedEntropy, useFusedEntropy } from './entropy.ts';
export { adamUpdateFused, type AdamUpdateAttrs } from './adam.ts';
export { sgdUpdateFused, type SgdUpdateAttrs } from './sgd.ts';
export { emaUpdateFused, samPerturbFused, stochasticRestoreFused, hashUniform, hasFusedUpdates, useFusedUpdates } from './multi-tensor.ts';
