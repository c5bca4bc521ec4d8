/**
 * Test-time normalisation: BN-1 (batch statistics), BN-alpha ((1 - alpha) source + alpha batch)
 * and BN-EMA (stored statistics follow the test batches with a momentum). No parameter changes.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel, NormMode } from '../model/types.ts';
import { SourceCopy, checkImages, probsOf } from './common.ts';
import { resolveOptions } from './options.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export type BnVariant = 'bn' | 'bn-alpha' | 'bn-ema';

export function bnDefaults(variant: BnVariant): Record<string, number> {
  if (variant === 'bn-alpha') return { alpha: 0.1 };
  if (variant === 'bn-ema') return { momentum: 0.1 };
  return {};
}

function modeFor(variant: BnVariant, o: Record<string, number>): NormMode {
  if (variant === 'bn-alpha') return { kind: 'mixed', alpha: o.alpha! };
  if (variant === 'bn-ema') return { kind: 'ema', momentum: o.momentum! };
  return { kind: 'batch' };
}

export function createBn(variant: BnVariant) {
  return (model: AdaptableModel, _ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod => {
    const o = resolveOptions(variant, bnDefaults(variant), overrides);
    for (const [k, v] of Object.entries(o)) if (!(v >= 0 && v <= 1)) throw new Error(`${variant}: ${k} must be in [0, 1], got ${v}`);
    const source = new SourceCopy(model);
    model.setNormMode(modeFor(variant, o));
    let steps = 0;
    return {
      name: variant,
      adapts: 'norm-stats',
      async step(images: tf.Tensor4D): Promise<StepResult> {
        checkImages(variant, images, model);
        steps++;
        return { probs: tf.tidy(() => probsOf(model.forward(images).logits)), stats: {} };
      },
      reset() {
        source.restore();
        steps = 0;
      },
      state: () => ({ steps, ...o }),
      dispose() {
        source.restore();
        source.dispose();
        model.setNormMode({ kind: 'running' });
      },
    };
  };
}
