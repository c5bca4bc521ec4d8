/**
 * Micro-benchmark of the fused BatchNorm kernels on tfjs-wasm in Node (non-threaded build):
 * JS loops vs WebAssembly SIMD (useSimdBatchNorm) at the CIFAR ResNet-26's BN sizes, then
 * whole Tent steps of that model with either.
 *   node --import tsx src/perf/bn-kernels.ts [reps=15] [tent batches=64,200]
 * JS and SIMD runs alternate, so both see the same machine load; medians (kernels: ns per
 * element, output allocation included).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BN_FORWARD, BN_GRAD_INPUT, BN_GRAD_PARAMS, CHANNEL_AFFINE } from '../kernels/batch-norm.ts';
import { useSimdBatchNorm } from '../kernels/batch-norm-simd.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadOnnxModel } from '../model/index.ts';
import { prepareStep, randomImages } from './steps.ts';

const SHAPES = [
  [200, 32, 32, 16],
  [200, 16, 16, 32],
  [200, 8, 8, 64],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of `run` with the SIMD kernels off and on, alternating, after one warm-up each. */
async function abTimes(reps: number, run: () => unknown): Promise<{ js: number; simd: number }> {
  const times: Record<'js' | 'simd', number[]> = { js: [], simd: [] };
  for (let r = 0; r < reps + 1; r++) {
    for (const mode of ['js', 'simd'] as const) {
      useSimdBatchNorm(mode === 'simd');
      const t0 = performance.now();
      await run();
      if (r > 0) times[mode].push(performance.now() - t0);
    }
  }
  useSimdBatchNorm(true);
  return { js: median(times.js), simd: median(times.simd) };
}

async function main(): Promise<void> {
  const reps = Number(process.argv[2] ?? 15);
  const tentBatches = (process.argv[3] ?? '64,200').split(',').map(Number);
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
  const e = tf.engine();
  console.log(`tfjs-wasm in Node, ${reps} reps per case, median ns/element (JS -> SIMD)`);
  for (const shape of SHAPES) {
    const c = shape[3]!;
    const x = tf.randomUniform(shape, 2, 4, 'float32', 1);
    const dy = tf.randomUniform(shape, -1, 1, 'float32', 2);
    const scale = tf.randomUniform([c], 0.5, 1.5, 'float32', 3);
    const offset = tf.randomUniform([c], -1, 1, 'float32', 4);
    const [y0, stats] = e.runKernel(BN_FORWARD, { x, scale, offset }, { epsilon: 1e-5 } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const grads = e.runKernel(BN_GRAD_PARAMS, { dy, x, stats: stats! }) as tf.Tensor;
    const kernels: Record<string, () => tf.Tensor | tf.Tensor[]> = {
      forward: () => e.runKernel(BN_FORWARD, { x, scale, offset }, { epsilon: 1e-5 } as unknown as tf.NamedAttrMap) as tf.Tensor[],
      gradParams: () => e.runKernel(BN_GRAD_PARAMS, { dy, x, stats: stats! }) as tf.Tensor,
      gradInput: () => e.runKernel(BN_GRAD_INPUT, { dy, x, stats: stats!, scale, grads }) as tf.Tensor,
      affine: () => e.runKernel(CHANNEL_AFFINE, { x, scale, shift: offset }) as tf.Tensor,
    };
    const cells: string[] = [];
    for (const [name, run] of Object.entries(kernels)) {
      const t = await abTimes(reps, () => tf.dispose(run()));
      const [js, simd] = [t.js, t.simd].map((ms) => (ms * 1e6) / x.size);
      cells.push(`${name} ${js!.toFixed(2)} -> ${simd!.toFixed(2)} (${(js! / simd!).toFixed(1)}x)`);
    }
    console.log(`[${shape}]: ${cells.join(', ')}`);
    tf.dispose([x, dy, scale, offset, y0!, stats!, grads]);
  }
  const model = await loadOnnxModel(new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../models/cifar10-resnet26.onnx'))), { name: 'cifar10-resnet26' });
  for (const batch of tentBatches) {
    const images = randomImages(model, batch, 1);
    const runner = prepareStep(model, 'tent', images);
    const t = await abTimes(Math.max(3, Math.round(reps / 3)), () => runner.run());
    console.log(`Tent step, batch ${batch}: ${t.js.toFixed(0)} -> ${t.simd.toFixed(0)} ms (${(t.js / t.simd).toFixed(2)}x)`);
    runner.dispose();
    images.dispose();
  }
  model.dispose();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
