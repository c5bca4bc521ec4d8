/**
 * Per-kernel profile of one step in Node (tf.profile):
 *   node --import tsx src/perf/profile.ts [wasm|cpu] [batch=64] [forward|tent|full]
 * Node's wasm has no threads, so absolute times are single-threaded; the split between
 * kernels is what this is for (docs/perf.md).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadOnnxModel } from '../model/index.ts';
import { prepareStep, randomImages, timeStep, STEP_KINDS, type StepKind } from './steps.ts';

async function main(): Promise<void> {
  const [backend = 'wasm', batchArg = '64', stepArg = 'tent'] = process.argv.slice(2);
  if (!STEP_KINDS.includes(stepArg as StepKind)) throw new Error(`unknown step '${stepArg}' (known: ${STEP_KINDS.join(', ')})`);
  const batch = Number(batchArg);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got '${batchArg}'`);
  if (!(await tf.setBackend(backend))) throw new Error(`backend '${backend}' did not initialise`);
  const bytes = new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../models/cifar10-resnet26.onnx')));
  const model = await loadOnnxModel(bytes, { name: 'cifar10-resnet26' });
  const images = randomImages(model, batch, 1);
  const step = stepArg as StepKind;
  const timing = await timeStep(model, step, images, { minMs: 1, maxIters: 3 });
  console.log(`${backend} ${step} batch ${batch}: ${timing.msPerStep.toFixed(0)} ms/step (median of ${timing.iters})`);
  const runner = prepareStep(model, step, images);
  await runner.run(); // warm-up
  const { kernels } = await tf.profile(() => runner.run());
  runner.dispose();
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of kernels) {
    const a = byName.get(k.name) ?? { ms: 0, n: 0 };
    a.ms += Number(k.kernelTimeMs) || 0;
    a.n++;
    byName.set(k.name, a);
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`one step: ${kernels.length} kernel calls, by total time:`);
  for (const [name, a] of rows.slice(0, 20)) console.log(`${name.padEnd(28)} ${a.ms.toFixed(1).padStart(9)} ms ${String(a.n).padStart(6)} calls`);
  images.dispose();
  model.dispose();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
