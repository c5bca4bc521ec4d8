/**
 * The measured steps of `npm run perf`, shared by the browser page and Node: forward
 * (running statistics), a Tent step (batch statistics, entropy, BN-affine gradients, Adam)
 * and a full-parameter step (same loss, every parameter, Adam: CoTTA's student update).
 * Inputs are made once per batch size; each case warms up once.
 */
import * as tf from '@tensorflow/tfjs';
import { softmaxEntropy } from '../methods/shared/entropy.ts';
import { adam, buildOptimizer } from '../methods/options.ts';
import { lossAndGrads } from '../methods/shared/tensors.ts';
import { loadOnnxModel } from '../model/index.ts';
import type { AdaptableModel } from '../model/types.ts';
import type { StepKind } from './step-kinds.ts';

export { STEP_KINDS, type StepKind } from './step-kinds.ts';

export interface CaseResult {
  engine: 'webtta';
  backend: string;
  batch: number;
  step: StepKind;
  /** Median over the timed iterations. */
  msPerStep: number;
  imagesPerSec: number;
  iters: number;
  /** First call at this batch size (kernel compilation, allocation). */
  warmupMs: number;
  /** Peak bytes tfjs held during one step (tf.profile), when the backend reports it. */
  peakBytes?: number;
  /** Tensors alive after the timed loop minus before it (0 = no leak). */
  leakedTensors: number;
}

export interface TimingOptions {
  /** Keep iterating until this much time has passed (at least 2 iterations). */
  minMs: number;
  maxIters: number;
}

export interface Runner {
  run(): Promise<void>;
  dispose(): void;
}

function forwardRunner(model: AdaptableModel, images: tf.Tensor4D): Runner {
  model.setNormMode({ kind: 'running' });
  return {
    async run() {
      const logits = model.forward(images).logits;
      await logits.data();
      logits.dispose();
    },
    dispose() {},
  };
}

/**
 * One adaptation step as Tent does it (tent.ts), on a chosen parameter set: batch-statistics
 * norm layers, mean softmax entropy, gradients, Adam. Written out here rather than through
 * createTent because Tent refuses batch 1, which the benchmark measures.
 */
function gradRunner(set: 'norm-affine' | 'all') {
  return (model: AdaptableModel, images: tf.Tensor4D): Runner => {
    model.setNormMode({ kind: 'batch' });
    const vars = model.parameters(set);
    const before = model.snapshot(vars);
    const optimizer = buildOptimizer(vars, adam(1e-3));
    return {
      async run() {
        const { loss, grads } = lossAndGrads(vars, () => tf.mean(softmaxEntropy(model.forward(images).logits)) as tf.Scalar);
        optimizer.step(grads);
        await loss.data();
        tf.dispose([loss, ...grads]);
      },
      dispose() {
        model.restore(before);
        before.dispose();
        optimizer.dispose();
        model.setNormMode({ kind: 'running' });
      },
    };
  };
}

const RUNNERS: Record<StepKind, (m: AdaptableModel, x: tf.Tensor4D) => Runner> = { forward: forwardRunner, tent: gradRunner('norm-affine'), full: gradRunner('all') };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Seeded images in [0, 1] (uploaded once per batch size). */
export function randomImages(model: AdaptableModel, batch: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([batch, ...model.info.inputShape], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** A step bound to a model and images: run() as often as wanted, then dispose() to restore the model. */
export function prepareStep(model: AdaptableModel, step: StepKind, images: tf.Tensor4D): Runner {
  return RUNNERS[step](model, images);
}

/** Warm up once, then time `step` on `images`; leaves the model as it found it. */
export async function timeStep(model: AdaptableModel, step: StepKind, images: tf.Tensor4D, opts: TimingOptions): Promise<CaseResult> {
  const runner = prepareStep(model, step, images);
  try {
    let t0 = performance.now();
    await runner.run();
    const warmupMs = performance.now() - t0;
    const tensorsBefore = tf.memory().numTensors;
    const times: number[] = [];
    const start = performance.now();
    while (times.length < opts.maxIters && (times.length < 2 || performance.now() - start < opts.minMs)) {
      t0 = performance.now();
      await runner.run();
      times.push(performance.now() - t0);
    }
    const leakedTensors = tf.memory().numTensors - tensorsBefore;
    const peakBytes = await peakOf(runner);
    const ms = median(times);
    const batch = images.shape[0];
    return { engine: 'webtta', backend: tf.getBackend(), batch, step, msPerStep: ms, imagesPerSec: (1000 * batch) / ms, iters: times.length, warmupMs, peakBytes, leakedTensors };
  } finally {
    runner.dispose();
  }
}

async function peakOf(runner: Runner): Promise<number | undefined> {
  try {
    const info = await tf.profile(() => runner.run());
    return info.peakBytes;
  } catch {
    // Profiling needs the backend's timer (e.g. WebGPU timestamp queries); not every adapter has it.
    return undefined;
  }
}

export interface CasesConfig extends TimingOptions {
  batches: number[];
  steps: StepKind[];
  /** A warm-up slower than this skips the larger batches. */
  maxStepMs: number;
}

/**
 * Every (batch, step) case on the active backend, smallest batch first; a failed case is
 * recorded and skipped, and after a warm-up over maxStepMs the remaining cases are skipped.
 */
export async function timeCases(model: AdaptableModel, config: CasesConfig, say: (line: string) => void = () => {}): Promise<{ results: CaseResult[]; skipped: string[] }> {
  const results: CaseResult[] = [];
  const skipped: string[] = [];
  const backend = tf.getBackend();
  let tooSlow = '';
  for (const batch of config.batches) {
    const images = randomImages(model, batch, batch);
    try {
      for (const step of config.steps) {
        if (tooSlow) {
          skipped.push(`${step} batch ${batch}: ${tooSlow}`);
          continue;
        }
        say(`${backend} ${step} batch ${batch} ...`);
        let r: CaseResult;
        try {
          r = await timeStep(model, step, images, config);
        } catch (err) {
          skipped.push(`${step} batch ${batch} failed: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        results.push(r);
        say(`${backend} ${step} batch ${batch}: ${r.msPerStep.toFixed(1)} ms, ${r.imagesPerSec.toFixed(1)} img/s (warm-up ${r.warmupMs.toFixed(0)} ms)`);
        if (r.warmupMs > config.maxStepMs) tooSlow = `skipped: ${step} batch ${batch} warm-up took ${(r.warmupMs / 1000).toFixed(1)} s`;
      }
    } finally {
      images.dispose();
    }
  }
  return { results, skipped };
}

/** Loads an ONNX model, times every case on the active backend (timeCases), and disposes it. */
export async function timeModelCases(onnx: Uint8Array, name: string, config: CasesConfig, say?: (line: string) => void): Promise<{ results: CaseResult[]; skipped: string[] }> {
  const model = await loadOnnxModel(onnx, { name });
  try {
    return await timeCases(model, config, say);
  } finally {
    model.dispose();
  }
}
