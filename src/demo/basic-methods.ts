/**
 * The three methods the demo needs first - Source, BN-1 and Tent - on the TTAMethod
 * contract, following ../shared/docs/methods.md (Tent: batch-statistics BN, entropy
 * loss on the BN affine parameters, Adam 1e-3 on CIFAR, SGD 0.00025 momentum 0.9 on
 * ImageNet; prediction from the same forward pass). Stand-in until the full registry
 * src/methods/index.ts lands; the demo and components only see `makeBasicMethod`.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../model/types.ts';
import type { MethodContext, TTAMethod } from '../methods/types.ts';
import { softmaxEntropy } from '../methods/shared/entropy.ts';
import { createOptimizer, type OptimizerConfig } from '../methods/shared/optim.ts';

export const BASIC_METHODS = ['source', 'bn', 'tent'] as const;
export type BasicMethodName = (typeof BASIC_METHODS)[number];

function forwardOnly(name: string, model: AdaptableModel, kind: 'running' | 'batch'): TTAMethod {
  model.setNormMode({ kind });
  return {
    name,
    adapts: kind === 'batch' ? 'norm-stats' : 'none',
    async step(images) {
      return { probs: tf.tidy(() => tf.softmax(model.forward(images).logits)), stats: {} };
    },
    reset() {},
    state: () => ({ normMode: kind }),
    dispose() {},
  };
}

function tent(model: AdaptableModel, ctx: MethodContext): TTAMethod {
  model.setNormMode({ kind: 'batch' });
  const vars = model.parameters('norm-affine');
  const source = model.snapshot(vars);
  const config: OptimizerConfig =
    ctx.dataset === 'imagenet' ? { kind: 'sgd', lr: 0.00025, momentum: 0.9 } : { kind: 'adam', lr: 1e-3, betas: [0.9, 0.999] };
  const optimizer = createOptimizer(vars, config);
  let steps = 0;
  return {
    name: 'tent',
    adapts: 'norm-affine',
    async step(images) {
      const { probs, loss } = tf.tidy(() => {
        let p: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.forward(images).logits;
          p = tf.keep(tf.softmax(logits));
          return tf.mean(softmaxEntropy(logits)) as tf.Scalar;
        }, vars);
        optimizer.step(vars.map((v) => grads[v.name]!));
        return { probs: p!, loss: value };
      });
      const lossValue = (await loss.data())[0]!;
      loss.dispose();
      steps++;
      return { probs, stats: { loss: lossValue } };
    },
    reset() {
      model.restore(source);
      optimizer.reset();
      steps = 0;
    },
    state: () => ({ steps, optimizer: config }),
    exportState() {
      const s = optimizer.exportState();
      return { counters: { steps, optimizerStep: s.step }, tensors: s.slots };
    },
    importState(state) {
      optimizer.importState({ step: state.counters.optimizerStep ?? 0, slots: state.tensors });
      steps = state.counters.steps ?? 0;
    },
    dispose() {
      source.dispose();
      optimizer.dispose();
    },
  };
}

export function makeBasicMethod(name: string, model: AdaptableModel, ctx: MethodContext): TTAMethod {
  switch (name) {
    case 'source':
      return forwardOnly('source', model, 'running');
    case 'bn':
      return forwardOnly('bn', model, 'batch');
    case 'tent':
      return tent(model, ctx);
    default:
      throw new Error(`unknown method '${name}' (available: ${BASIC_METHODS.join(', ')})`);
  }
}
