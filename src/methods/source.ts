/** Source: the frozen model with eval-mode normalisation (running statistics). */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import { checkImages, probsOf } from './common.ts';
import { resolveOptions } from './options.ts';
import type { MethodContext, StepResult, TTAMethod } from './types.ts';

export const sourceDefaults = () => ({});

export function createSource(model: AdaptableModel, _ctx: MethodContext, overrides?: Record<string, unknown>): TTAMethod {
  resolveOptions('source', sourceDefaults(), overrides);
  model.setNormMode({ kind: 'running' });
  let steps = 0;
  return {
    name: 'source',
    adapts: 'none',
    async step(images: tf.Tensor4D): Promise<StepResult> {
      checkImages('source', images, model);
      steps++;
      return { probs: tf.tidy(() => probsOf(model.forward(images).logits)), stats: {} };
    },
    reset() {},
    state: () => ({ steps }),
    dispose() {},
  };
}
