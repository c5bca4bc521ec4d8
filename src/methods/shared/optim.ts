/**
 * Optimisers on tf.Variables with explicit, exportable state, reproducing torch.optim's
 * update order and formulas (PyTorch 1.13, single-tensor path) so runs match the official code.
 */
import * as tf from '@tensorflow/tfjs';
import { adamUpdateFused, hasFusedUpdates, sgdUpdateFused } from '../../kernels/index.ts';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export type OptimizerConfig = ({ kind: 'sgd' } & SgdOptions) | ({ kind: 'adam' } & AdamOptions);

/** Step count and per-variable slot tensors (momentum buffers, Adam moments); copies. */
export interface OptimizerState {
  step: number;
  slots: Record<string, (tf.Tensor | null)[]>;
}

export interface Optimizer {
  readonly vars: readonly tf.Variable[];
  /** Learning rate in effect; schedulers write it. */
  lr: number;
  /** One update with gradients in `vars` order (the optimiser does not dispose them). */
  step(grads: readonly tf.Tensor[]): void;
  exportState(): OptimizerState;
  importState(state: OptimizerState): void;
  /** Fresh state (no momentum, step 0), as a newly built torch optimiser. */
  reset(): void;
  dispose(): void;
}

function checkGrads(name: string, vars: readonly tf.Variable[], grads: readonly tf.Tensor[]): void {
  if (grads.length !== vars.length) throw new Error(`${name}: got ${grads.length} gradients for ${vars.length} variables`);
  grads.forEach((g, i) => {
    const v = vars[i]!;
    if (!tf.util.arraysEqual(g.shape, v.shape)) {
      throw new Error(`${name}: gradient ${i} has shape [${g.shape}] but variable '${v.name}' has [${v.shape}]`);
    }
  });
}

function cloneSlots(slots: (tf.Tensor | null)[]): (tf.Tensor | null)[] {
  return slots.map((t) => (t ? tf.clone(t) : null));
}

function replaceSlot(slots: (tf.Tensor | null)[], i: number, value: tf.Tensor): void {
  slots[i]?.dispose();
  slots[i] = tf.keep(value);
}

export class Sgd implements Optimizer {
  lr: number;
  private stepCount = 0;
  private momentumBuffers: (tf.Tensor | null)[];
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;

  constructor(readonly vars: readonly tf.Variable[], opts: SgdOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('sgd: Nesterov momentum requires momentum > 0 and dampening = 0 (as torch.optim.SGD)');
    }
    this.momentumBuffers = vars.map(() => null);
  }

  step(grads: readonly tf.Tensor[]): void {
    checkGrads('sgd', this.vars, grads);
    const fused = hasFusedUpdates(tf.getBackend());
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        if (fused) {
          // One kernel, bit-identical to the ops below on wasm/cpu (kernels/sgd.ts).
          const buf = sgdUpdateFused(p, grads[i]!, this.momentumBuffers[i] ?? null, { lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay });
          if (buf) replaceSlot(this.momentumBuffers, i, buf);
          return;
        }
        let d: tf.Tensor = grads[i]!;
        if (this.weightDecay !== 0) d = tf.add(d, tf.mul(p, this.weightDecay));
        if (this.momentum !== 0) {
          const prev = this.momentumBuffers[i];
          const buf = prev ? tf.add(tf.mul(prev, this.momentum), tf.mul(d, 1 - this.dampening)) : tf.clone(d);
          replaceSlot(this.momentumBuffers, i, buf);
          d = this.nesterov ? tf.add(d, tf.mul(buf, this.momentum)) : buf;
        }
        p.assign(tf.sub(p, tf.mul(d, this.lr)));
      });
    });
    this.stepCount++;
  }

  exportState(): OptimizerState {
    return { step: this.stepCount, slots: { momentum: cloneSlots(this.momentumBuffers) } };
  }

  importState(state: OptimizerState): void {
    const m = state.slots.momentum;
    if (!m || m.length !== this.vars.length) throw new Error('sgd: state has no momentum slot per variable');
    this.reset();
    this.stepCount = state.step;
    this.momentumBuffers = cloneSlots(m).map((t) => (t ? tf.keep(t) : null));
  }

  reset(): void {
    this.momentumBuffers.forEach((t) => t?.dispose());
    this.momentumBuffers = this.vars.map(() => null);
    this.stepCount = 0;
  }

  dispose(): void {
    this.reset();
  }
}

export class Adam implements Optimizer {
  lr: number;
  private stepCount = 0;
  private expAvg: (tf.Tensor | null)[];
  private expAvgSq: (tf.Tensor | null)[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(readonly vars: readonly tf.Variable[], opts: AdamOptions) {
    this.lr = opts.lr;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.expAvg = vars.map(() => null);
    this.expAvgSq = vars.map(() => null);
  }

  step(grads: readonly tf.Tensor[]): void {
    checkGrads('adam', this.vars, grads);
    this.stepCount++;
    const t = this.stepCount;
    // Bias corrections in double precision on the host, as torch computes them in Python floats.
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(this.beta2, t));
    const stepSize = this.lr / bc1;
    const fused = hasFusedUpdates(tf.getBackend());
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const m0 = this.expAvg[i] ?? tf.zerosLike(p);
        const v0 = this.expAvgSq[i] ?? tf.zerosLike(p);
        if (fused) {
          // One kernel, bit-identical to the ops below on wasm/cpu (kernels/adam.ts).
          const { m, v } = adamUpdateFused(p, grads[i]!, m0, v0, { beta1: this.beta1, beta2: this.beta2, eps: this.eps, stepSize, bc2Sqrt, weightDecay: this.weightDecay });
          replaceSlot(this.expAvg, i, m);
          replaceSlot(this.expAvgSq, i, v);
          return;
        }
        let g: tf.Tensor = grads[i]!;
        if (this.weightDecay !== 0) g = tf.add(g, tf.mul(p, this.weightDecay));
        const m = tf.add(tf.mul(m0, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(v0, this.beta2), tf.mul(tf.mul(g, g), 1 - this.beta2));
        replaceSlot(this.expAvg, i, m);
        replaceSlot(this.expAvgSq, i, v);
        // eps is added after the bias-corrected square root (torch), not inside it.
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  exportState(): OptimizerState {
    return { step: this.stepCount, slots: { expAvg: cloneSlots(this.expAvg), expAvgSq: cloneSlots(this.expAvgSq) } };
  }

  importState(state: OptimizerState): void {
    const { expAvg, expAvgSq } = state.slots;
    if (!expAvg || !expAvgSq || expAvg.length !== this.vars.length || expAvgSq.length !== this.vars.length) {
      throw new Error('adam: state needs expAvg and expAvgSq slots per variable');
    }
    this.reset();
    this.stepCount = state.step;
    this.expAvg = cloneSlots(expAvg).map((t) => (t ? tf.keep(t) : null));
    this.expAvgSq = cloneSlots(expAvgSq).map((t) => (t ? tf.keep(t) : null));
  }

  reset(): void {
    [...this.expAvg, ...this.expAvgSq].forEach((t) => t?.dispose());
    this.expAvg = this.vars.map(() => null);
    this.expAvgSq = this.vars.map(() => null);
    this.stepCount = 0;
  }

  dispose(): void {
    this.reset();
  }
}

export function createOptimizer(vars: readonly tf.Variable[], config: OptimizerConfig): Optimizer {
  if (config.kind === 'sgd') return new Sgd(vars, config);
  if (config.kind === 'adam') return new Adam(vars, config);
  throw new Error(`unknown optimiser kind '${(config as { kind: string }).kind}' (expected 'sgd' or 'adam')`);
}

/** CosineAnnealingLR (eta_min 0) in closed form: lr_t = lr0 * (1 + cos(pi t / T)) / 2. */
export function cosineLr(lr0: number, t: number, tMax: number): number {
  return (lr0 * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}
