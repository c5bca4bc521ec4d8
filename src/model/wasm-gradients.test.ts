// On tfjs-wasm (no Conv2DBackpropFilter kernel) gradients of all parameters work and agree
// with the cpu backend; timing of one all-parameter step is reported.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadOnnxModel } from './index.ts';
import { fixtureBytes } from './testing/node-fixtures.ts';

after(async () => {
  await tf.setBackend('cpu');
});

async function gradsOn(backend: string, name: string, x: Float32Array, shape: [number, number, number, number]) {
  await tf.setBackend(backend);
  const model = await loadOnnxModel(fixtureBytes(name), { name });
  model.setNormMode({ kind: 'batch' });
  const input = tf.tensor4d(x, shape);
  const vars = model.parameters('all');
  const run = () => tf.variableGrads(() => tf.tidy(() => tf.mean(tf.square(model.forward(input).logits)) as tf.Scalar), vars);
  run().value.dispose(); // warm-up (kernel compilation)
  const t0 = performance.now();
  const { value, grads } = run();
  const flat = await Promise.all(vars.map((v) => grads[v.name]!.data()));
  const ms = performance.now() - t0;
  tf.dispose([value, input, ...Object.values(grads)]);
  model.dispose();
  return { flat: flat.map((f) => Float32Array.from(f as Float32Array)), ms };
}

for (const [name, shape] of [
  ['resnet-tiny', [8, 16, 16, 3]],
  ['segmenter-tiny', [2, 16, 16, 3]],
  ['ops-opset17', [3, 20, 18, 3]],
] as const) {
  test(`${name}: all-parameter gradients on wasm equal cpu's`, async () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1 + 0.5);
    const cpu = await gradsOn('cpu', name, x, [...shape]);
    const wasm = await gradsOn('wasm', name, x, [...shape]);
    let diff = 0;
    let norm = 0;
    cpu.flat.forEach((g, k) => g.forEach((v, i) => {
      diff += (v - wasm.flat[k]![i]!) ** 2;
      norm += v * v;
    }));
    const rel = Math.sqrt(diff / norm);
    console.log(`${name}: grad rel diff wasm vs cpu ${rel.toExponential(2)}; step ms cpu ${cpu.ms.toFixed(0)}, wasm ${wasm.ms.toFixed(0)}`);
    assert.ok(norm > 0);
    assert.ok(rel < 1e-3, `relative L2 difference ${rel}`);
  });
}
