// The perf steps: they run, leak no tensors and leave the model's parameters as they were.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadOnnxModel } from '../model/index.ts';
import { fixtureBytes } from '../model/testing/node-fixtures.ts';
import { parsePerfArgs } from './args.ts';
import { randomImages, STEP_KINDS, timeStep } from './steps.ts';

after(async () => {
  await tf.setBackend('cpu');
});

test('wasm: every step times, leaks nothing and restores the parameters bit-exactly', async () => {
  await tf.setBackend('wasm');
  const model = await loadOnnxModel(fixtureBytes('resnet-tiny'), { name: 'resnet-tiny' });
  const images = randomImages(model, 1, 3);
  const before = model.snapshot();
  for (const step of STEP_KINDS) {
    const r = await timeStep(model, step, images, { minMs: 1, maxIters: 3 });
    assert.equal(r.step, step);
    assert.equal(r.batch, 1);
    assert.equal(r.backend, 'wasm');
    assert.ok(r.iters >= 2 && r.iters <= 3);
    assert.ok(r.msPerStep > 0 && Math.abs(r.imagesPerSec - 1000 / r.msPerStep) < 1e-9);
    assert.equal(r.leakedTensors, 0, `${step} leaked ${r.leakedTensors} tensors`);
  }
  const after = model.snapshot();
  for (const [k, v] of before.values) assert.deepEqual(after.values.get(k)!.dataSync(), v.dataSync(), `${k} changed`);
  assert.ok(model.norms.every((n) => n.mode.kind === 'running'));
  tf.dispose(images);
  before.dispose();
  after.dispose();
  model.dispose();
});

test('perf options: defaults, lists and clear errors', () => {
  const d = parsePerfArgs([]);
  assert.deepEqual(d.batches, [1, 16, 64, 200]);
  assert.deepEqual(d.backends, ['wasm', 'webgpu', 'webgl', 'cpu']);
  const o = parsePerfArgs(['--backends', 'wasm', '--batches', '16,64', '--steps', 'tent', '--no-torch', '--max-step-s', '2', '--torch-threads', '2']);
  assert.deepEqual(o.torchThreads, [2]);
  assert.deepEqual(d.torchThreads, [1, 2]);
  assert.deepEqual([d.wasmThreads, parsePerfArgs(['--wasm-threads', '1,2']).wasmThreads], [[], [1, 2]]);
  assert.throws(() => parsePerfArgs(['--wasm-threads', '9']), /'9' is not an integer in 1\.\.8/);
  assert.deepEqual([o.backends, o.batches, o.steps, o.torch, o.ort, o.maxStepMs], [['wasm'], [16, 64], ['tent'], false, true, 2000]);
  assert.throws(() => parsePerfArgs(['--backends', 'tpu']), /unknown backend 'tpu'/);
  assert.throws(() => parsePerfArgs(['--batches', '0']), /'0' is not a positive integer/);
  assert.throws(() => parsePerfArgs(['--batches']), /--batches needs a value/);
  assert.throws(() => parsePerfArgs(['--fast']), /unknown option '--fast'/);
  const dawn = parsePerfArgs(['--dawn', '/tmp/dawn/node_modules/webgpu']);
  assert.deepEqual([dawn.dawn, dawn.backends, dawn.ort], ['/tmp/dawn/node_modules/webgpu', ['webgpu'], false]);
  assert.throws(() => parsePerfArgs(['--dawn', '/x', '--backends', 'wasm,webgpu']), /--dawn runs the webgpu backend only/);
});
