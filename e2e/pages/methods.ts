/**
 * Browser side of e2e/methods.test.ts: every TTA method on the resnet-tiny ONNX fixture, on a
 * chosen tfjs backend, with seeded inputs; returns the second step's probabilities and the
 * live-tensor growth so the test can compare backends.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../../src/runtime/wasm-paths.ts';
import { loadOnnxModel } from '../../src/model/index.ts';
import { METHODS, createMethod, tensorSource } from '../../src/methods/index.ts';
import { randomImages } from '../../src/methods/testing/tiny-model.ts';
import { SMALL_SETTINGS } from '../../src/methods/testing/small-settings.ts';

export interface MethodRun {
  name: string;
  probs: number[];
  growth: number;
  ms: number;
}


export async function runAll(backend: BackendName): Promise<{ backend: string; runs: MethodRun[] }> {
  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const res = await fetch('/models/fixtures/resnet-tiny.onnx');
  if (!res.ok) throw new Error(`GET resnet-tiny.onnx: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const runs: MethodRun[] = [];
  const x = randomImages(8, 16, 2);
  const sourceImages = randomImages(16, 16, 3);
  for (const name of METHODS.keys()) {
    const model = await loadOnnxModel(bytes, { name: 'resnet-tiny' });
    const method = await createMethod(name, model, { seed: 1, dataset: 'cifar10', sourceData: tensorSource(sourceImages) }, { overrides: SMALL_SETTINGS[name] });
    const first = await method.step(x);
    first.probs.dispose();
    first.outlierScore?.dispose();
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const second = await method.step(x);
    const probs = Array.from(await second.probs.data());
    const ms = performance.now() - t0;
    second.probs.dispose();
    second.outlierScore?.dispose();
    runs.push({ name, probs, growth: tf.memory().numTensors - before, ms });
    method.dispose();
    model.dispose();
  }
  x.dispose();
  sourceImages.dispose();
  return { backend: info.backend, runs };
}
