/**
 * Per-kernel profile of one step in Node (tf.profile):
 *   node --import tsx src/perf/profile.ts [wasm|cpu|webgpu] [batch=64] [forward|tent|full] [--dawn DIR]
 * Node's wasm has no threads, so absolute times are single-threaded; the split between
 * kernels is what this is for (docs/perf.md). webgpu runs through Dawn (src/perf/dawn.ts),
 * and its kernel times come from GPU timestamp queries where the adapter has them.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { initDawnWebgpu } from './dawn.ts';
import { STEP_KINDS, type StepKind } from './step-kinds.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dawnAt = argv.indexOf('--dawn');
  const dawnDir = dawnAt >= 0 ? argv.splice(dawnAt, 2)[1] : undefined;
  const [backend = 'wasm', batchArg = '64', stepArg = 'tent'] = argv;
  if (!STEP_KINDS.includes(stepArg as StepKind)) throw new Error(`unknown step '${stepArg}' (known: ${STEP_KINDS.join(', ')})`);
  const batch = Number(batchArg);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got '${batchArg}'`);
  if (backend === 'webgpu') {
    if (!dawnDir) throw new Error('webgpu in Node needs --dawn DIR (the webgpu npm package; see src/perf/dawn.ts)');
    const info = await initDawnWebgpu(dawnDir);
    console.log(`adapter: ${JSON.stringify(info.adapter)}`);
  } else {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend(backend))) throw new Error(`backend '${backend}' did not initialise`);
  }
  // After the backend: the runtime's imports load tfjs-backend-webgpu (see initDawnWebgpu).
  const { loadOnnxModel } = await import('../model/index.ts');
  const { prepareStep, randomImages, timeStep } = await import('./steps.ts');
  const bytes = new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../models/cifar10-resnet26.onnx')));
  const model = await loadOnnxModel(bytes, { name: 'cifar10-resnet26' });
  const images = randomImages(model, batch, 1);
  const step = stepArg as StepKind;
  const timing = await timeStep(model, step, images, { minMs: 1, maxIters: 3 });
  console.log(`${backend} ${step} batch ${batch}: ${timing.msPerStep.toFixed(0)} ms/step (median of ${timing.iters})`);
  const runner = prepareStep(model, step, images);
  await runner.run(); // warm-up
  const t0 = performance.now();
  const { kernels } = await tf.profile(() => runner.run());
  const wallMs = performance.now() - t0;
  runner.dispose();
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of kernels) {
    const a = byName.get(k.name) ?? { ms: 0, n: 0 };
    a.ms += Number(k.kernelTimeMs) || 0;
    a.n++;
    byName.set(k.name, a);
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, a]) => s + a.ms, 0);
  console.log(`one step: ${kernels.length} kernel calls, ${kernelMs.toFixed(1)} ms of kernel time in ${wallMs.toFixed(1)} ms wall (profiled), by total time:`);
  for (const [name, a] of rows.slice(0, 20)) console.log(`${name.padEnd(28)} ${a.ms.toFixed(1).padStart(9)} ms ${String(a.n).padStart(6)} calls`);
  images.dispose();
  model.dispose();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
