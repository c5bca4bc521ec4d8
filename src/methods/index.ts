/**
 * Registry of TTA methods: name -> factory with per-dataset defaults (every option can be
 * overridden), plus the RDumb-style periodic reset as a wrapper option for any of them.
 */
import type { AdaptableModel, ParamSetName } from '../model/types.ts';
import { createBn, bnDefaults } from './bn.ts';
import { cottaDefaults, createCotta } from './cotta.ts';
import { createEata, eataDefaults } from './eata.ts';
import { createLame, lameDefaults } from './lame.ts';
import type { OptionValue } from './options.ts';
import { withPeriodicReset } from './reset.ts';
import { createRotta, rottaDefaults } from './rotta.ts';
import { createSar, sarDefaults } from './sar.ts';
import { createSource, sourceDefaults } from './source.ts';
import { createStamp, stampDefaults } from './stamp.ts';
import { createTent, tentDefaults } from './tent.ts';
import type { MethodContext, MethodFactory, TTAMethod } from './types.ts';

export type MethodName = 'source' | 'bn' | 'bn-alpha' | 'bn-ema' | 'tent' | 'eata' | 'eta' | 'cotta' | 'rotta' | 'stamp' | 'sar' | 'lame';

export interface MethodInfo {
  readonly name: MethodName;
  readonly title: string;
  /** Parameters the method changes. */
  readonly adapts: ParamSetName | 'norm-stats' | 'none';
  /** Which model's prediction is returned. */
  readonly prediction: string;
  /** Works on segmentation models (per-pixel losses). */
  readonly segmentation: boolean;
  /** Needs ctx.sourceData (clean source images). */
  readonly needsSourceData: boolean;
  defaults(ctx: MethodContext): Record<string, OptionValue>;
  /** Batch size of the method's published benchmark on this data set (../shared/docs/methods.md). */
  defaultBatchSize(ctx: Pick<MethodContext, 'dataset'>): number;
  create: MethodFactory;
}

/**
 * Published batch sizes: CIFAR (the mariodoebler benchmark's common 200 where a method has no
 * own), ImageNet 64 for all. CamVid has none; 64 was the benchmark's default before.
 */
const batchOf = (cifar: number) => (ctx: Pick<MethodContext, 'dataset'>) => (ctx.dataset === 'cifar10' || ctx.dataset === 'cifar100' ? cifar : 64);

const entries: MethodInfo[] = [
  { name: 'source', title: 'Source (no adaptation)', adapts: 'none', prediction: 'frozen model, running statistics', segmentation: true, needsSourceData: false, defaults: sourceDefaults, defaultBatchSize: batchOf(200), create: createSource },
  { name: 'bn', title: 'BN-1 (test-batch statistics)', adapts: 'norm-stats', prediction: 'model with batch statistics', segmentation: true, needsSourceData: false, defaults: () => bnDefaults('bn'), defaultBatchSize: batchOf(200), create: createBn('bn') },
  { name: 'bn-alpha', title: 'BN-alpha (source/batch statistics mix)', adapts: 'norm-stats', prediction: 'model with mixed statistics', segmentation: true, needsSourceData: false, defaults: () => bnDefaults('bn-alpha'), defaultBatchSize: batchOf(200), create: createBn('bn-alpha') },
  { name: 'bn-ema', title: 'BN-EMA (running statistics follow the stream)', adapts: 'norm-stats', prediction: 'model with updated statistics', segmentation: true, needsSourceData: false, defaults: () => bnDefaults('bn-ema'), defaultBatchSize: batchOf(200), create: createBn('bn-ema') },
  { name: 'tent', title: 'Tent', adapts: 'norm-affine', prediction: 'student, same forward pass as the update', segmentation: true, needsSourceData: false, defaults: tentDefaults, defaultBatchSize: batchOf(200), create: createTent },
  { name: 'eata', title: 'EATA', adapts: 'norm-affine', prediction: 'student, same forward pass as the update', segmentation: false, needsSourceData: true, defaults: (ctx) => eataDefaults(ctx, true), defaultBatchSize: batchOf(200), create: createEata('eata') },
  { name: 'eta', title: 'ETA (EATA without Fisher)', adapts: 'norm-affine', prediction: 'student, same forward pass as the update', segmentation: false, needsSourceData: false, defaults: (ctx) => eataDefaults(ctx, false), defaultBatchSize: batchOf(200), create: createEata('eta') },
  { name: 'cotta', title: 'CoTTA', adapts: 'all', prediction: 'EMA teacher (augmentation-averaged when the anchor is unsure)', segmentation: true, needsSourceData: false, defaults: cottaDefaults, defaultBatchSize: batchOf(200), create: createCotta },
  { name: 'rotta', title: 'RoTTA', adapts: 'norm-affine', prediction: 'EMA teacher in eval mode', segmentation: false, needsSourceData: false, defaults: rottaDefaults, defaultBatchSize: batchOf(64), create: createRotta },
  { name: 'stamp', title: 'STAMP', adapts: 'norm-affine-except-last-stage', prediction: 'student, mean softmax over 1 + augViews views; outlier score = its entropy', segmentation: false, needsSourceData: false, defaults: stampDefaults, defaultBatchSize: batchOf(64), create: createStamp },
  { name: 'sar', title: 'SAR', adapts: 'norm-affine-except-last-stage', prediction: 'student, first (unperturbed) pass', segmentation: false, needsSourceData: false, defaults: sarDefaults, defaultBatchSize: batchOf(200), create: createSar },
  { name: 'lame', title: 'LAME', adapts: 'none', prediction: 'Laplacian-adjusted source probabilities', segmentation: false, needsSourceData: false, defaults: lameDefaults, defaultBatchSize: batchOf(200), create: createLame },
];

export const METHODS: ReadonlyMap<MethodName, MethodInfo> = new Map(entries.map((e) => [e.name, e]));

export function methodInfo(name: string): MethodInfo {
  const info = METHODS.get(name as MethodName);
  if (!info) throw new Error(`unknown TTA method '${name}' (known: ${[...METHODS.keys()].join(', ')})`);
  return info;
}

export interface CreateMethodOptions {
  /** Hyper-parameter overrides of the method (see methodInfo(name).defaults). */
  overrides?: Record<string, unknown>;
  /** RDumb-style periodic reset: back to the source model every `resetEvery` steps (0: never). */
  resetEvery?: number;
}

export async function createMethod(name: string, model: AdaptableModel, ctx: MethodContext, opts: CreateMethodOptions = {}): Promise<TTAMethod> {
  const info = methodInfo(name);
  if (model.info.task === 'segmentation' && !info.segmentation) {
    throw new Error(`${name}: not available for segmentation models (use source, bn, bn-alpha, bn-ema, tent or cotta)`);
  }
  const method = await info.create(model, ctx, opts.overrides);
  return opts.resetEvery ? withPeriodicReset(method, opts.resetEvery) : method;
}

export type { MethodContext, MethodFactory, StepResult, TTAMethod } from './types.ts';
export type { SourceDataProvider } from './shared/fisher.ts';
export { tensorSource } from './shared/fisher.ts';
