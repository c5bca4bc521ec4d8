/**
 * Method hyper-parameters: flat records of numbers, booleans and strings with per-dataset
 * defaults; every one can be overridden, unknown names and wrong types are rejected.
 */
import type * as tf from '@tensorflow/tfjs';
import { createOptimizer, type Optimizer } from './shared/optim.ts';
import type { MethodContext } from './types.ts';

export type OptionValue = number | boolean | string;
export type Options = Record<string, OptionValue>;

export function resolveOptions<O extends Options>(method: string, defaults: O, overrides: Record<string, unknown> = {}): O {
  const out: Options = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) throw new Error(`${method}: unknown option '${key}' (known: ${Object.keys(defaults).join(', ')})`);
    const expected = typeof defaults[key];
    if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
      throw new Error(`${method}: option '${key}' must be a finite ${expected}, got ${JSON.stringify(value)}`);
    }
    out[key] = value as OptionValue;
  }
  return out as O;
}

export interface OptimizerOptions extends Options {
  optimizer: string;
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** torch.optim defaults for the fields a preset does not name. */
export function adam(lr: number): OptimizerOptions {
  return { optimizer: 'adam', lr, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

export function sgd(lr: number, momentum = 0.9, nesterov = false): OptimizerOptions {
  return { optimizer: 'sgd', lr, momentum, dampening: 0, nesterov, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

export function buildOptimizer(vars: readonly tf.Variable[], o: OptimizerOptions): Optimizer {
  if (o.optimizer === 'adam') return createOptimizer(vars, { kind: 'adam', lr: o.lr, betas: [o.beta1, o.beta2], eps: o.eps, weightDecay: o.weightDecay });
  if (o.optimizer === 'sgd') return createOptimizer(vars, { kind: 'sgd', lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weightDecay });
  throw new Error(`unknown optimizer '${o.optimizer}' (expected 'adam' or 'sgd')`);
}

/** Large-scale (ImageNet) presets vs small-scale (CIFAR, and CamVid by choice) presets. */
export function isLargeScale(ctx: MethodContext): boolean {
  return ctx.dataset === 'imagenet';
}
