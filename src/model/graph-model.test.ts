// AdaptableModel behaviour on the ONNX fixtures: gradients, norm modes, snapshots, clones.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { loadOnnxModel } from './index.ts';
import { fixtureBytes, fixtureReference } from './testing/node-fixtures.ts';
import { maxAbsDiff, nchwToNhwc } from './testing/reference.ts';
import type { AdaptableModel } from './types.ts';

before(async () => {
  await tf.setBackend('cpu');
});

async function resnet(): Promise<{ model: AdaptableModel; x: tf.Tensor4D }> {
  const ref = nchwToNhwc(fixtureReference('resnet-tiny').input);
  const model = await loadOnnxModel(fixtureBytes('resnet-tiny'), { name: 'resnet-tiny' });
  return { model, x: tf.tensor4d(ref.data, ref.dims as [number, number, number, number]) };
}

function bytesOf(t: tf.Tensor): Uint8Array {
  return new Uint8Array((t.dataSync() as Float32Array).slice().buffer);
}

test('BN-affine gradients (batch statistics) match central finite differences', async () => {
  // smooth-tiny has no ReLU kinks, so central differences converge (O(eps^2)).
  const ref = nchwToNhwc(fixtureReference('smooth-tiny').input);
  const x = tf.tensor4d(ref.data, ref.dims as [number, number, number, number]);
  const model = await loadOnnxModel(fixtureBytes('smooth-tiny'), { name: 'smooth-tiny' });
  model.setNormMode({ kind: 'batch' });
  const rng = new Rng(3);
  const r = tf.tensor2d(Array.from({ length: 9 }, () => rng.uniform(-1, 1)), [3, 3]);
  const loss = () => tf.tidy(() => tf.sum(tf.mul(model.forward(x).logits, r)) as tf.Scalar);
  const vars = model.parameters('norm-affine');
  assert.equal(vars.length, 4);
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dispose();
  const eps = 1e-2;
  for (const v of vars) {
    const g = grads[v.name]!.dataSync();
    const base = v.dataSync().slice();
    const gScale = Math.max(...Array.from(g, Math.abs));
    assert.ok(gScale > 1e-2, `${v.name}: gradient not trivially zero`);
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number) => {
        const p = base.slice();
        p[i] = base[i]! + delta;
        v.assign(tf.tensor(p, v.shape));
        const l = loss();
        const out = l.dataSync()[0]!;
        l.dispose();
        return out;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      assert.ok(Math.abs(fd - g[i]!) <= 2e-3 * gScale, `${v.name}[${i}]: analytic ${g[i]} vs finite difference ${fd}`);
    }
  }
  tf.dispose([r, x, ...Object.values(grads)]);
  model.dispose();
});

test('parameter sets, stages and penultimate features', async () => {
  const { model, x } = await resnet();
  assert.equal(model.norms.length, 9);
  assert.equal(model.parameters('norm-affine').length, 18);
  // Last stage = layer3 (8x8 -> 4x4 here): its 3 BNs (bn1, bn2, shortcut) are excluded.
  assert.equal(model.parameters('norm-affine-except-last-stage').length, 12);
  const all = model.parameters('all');
  assert.ok(all.length > 18 && [...model.params.keys()].includes('fc.weight'));
  assert.ok(![...model.params.keys()].some((k) => k.includes('running')), 'running statistics are not parameters');
  const { logits, features } = model.forward(x, { features: true });
  assert.deepEqual(features!.shape, [4, 16]);
  // logits = features @ fc.weight^T + fc.bias: the features really are the classifier input.
  const manual = tf.add(tf.matMul(features!, model.params.get('fc.weight')!, false, true), model.params.get('fc.bias')!);
  assert.ok(tf.max(tf.abs(tf.sub(manual, logits))).dataSync()[0]! < 1e-5);
  tf.dispose([logits, features!, manual, x]);
  model.dispose();
});

test('ema mode updates stored statistics; mixed mode leaves them; both normalise alike', async () => {
  const { model, x } = await resnet();
  const layer = model.norms[0]!;
  const before = layer.runningMean.dataSync().slice();
  model.setNormMode({ kind: 'mixed', alpha: 0.3 });
  const mixed = model.forward(x).logits;
  assert.deepEqual(layer.runningMean.dataSync(), before);
  model.setNormMode({ kind: 'ema', momentum: 0.3 });
  const ema = model.forward(x).logits;
  assert.ok(tf.max(tf.abs(tf.sub(mixed, ema))).dataSync()[0]! < 1e-5);
  const after = layer.runningMean.dataSync();
  assert.ok(after.some((v, i) => Math.abs(v - before[i]!) > 1e-4), 'ema moved the running mean');
  // A second ema step moves from the updated statistics, so the output changes.
  const ema2 = model.forward(x).logits;
  assert.ok(tf.max(tf.abs(tf.sub(ema2, ema))).dataSync()[0]! > 1e-5);
  tf.dispose([mixed, ema, ema2, x]);
  model.dispose();
});

test('setNormMode with a filter sets the chosen layers only, each to its own copy of the mode', async () => {
  const { model, x } = await resnet();
  const ref = fixtureReference('resnet-tiny');
  const refBatch = ref.batch!.data;
  const refEval = ref.eval.data;
  const kinds = () => model.norms.map((n) => (n.mode.kind === 'mixed' ? `mixed ${n.mode.alpha}` : n.mode.kind));
  // A filter that takes every layer is the unfiltered call: PyTorch's train-mode output.
  model.setNormMode({ kind: 'batch' }, () => true);
  const all = model.forward(x).logits;
  assert.ok(maxAbsDiff(await all.data(), refBatch) < 1e-4);
  model.setNormMode({ kind: 'running' });
  model.setNormMode({ kind: 'batch' }, (n) => n.stage === 0);
  assert.deepEqual(kinds(), ['batch', 'batch', 'batch', 'running', 'running', 'running', 'running', 'running', 'running']);
  // Batch statistics in the first stage only: neither PyTorch output.
  const first = model.forward(x).logits;
  const data = await first.data();
  assert.ok(maxAbsDiff(data, refEval) > 1e-2 && maxAbsDiff(data, refBatch) > 1e-2);
  model.setNormMode({ kind: 'mixed', alpha: 0.5 }, (n) => n.stage === 2);
  assert.deepEqual(kinds(), ['batch', 'batch', 'batch', 'running', 'running', 'running', 'mixed 0.5', 'mixed 0.5', 'mixed 0.5']);
  (model.norms[6]!.mode as { alpha: number }).alpha = 0.9;
  assert.equal(kinds()[7], 'mixed 0.5');
  tf.dispose([all, first, x]);
  model.dispose();
});

test('snapshot/restore is bit-exact and clone() is independent', async () => {
  const { model, x } = await resnet();
  const originalBytes = new Map([...model.params].map(([k, v]) => [k, bytesOf(v)]));
  const statBytes = model.norms.map((n) => bytesOf(n.runningVar));
  const y0 = model.forward(x).logits;
  const snap = model.snapshot();
  const copy = model.clone();
  // Perturb everything: parameters by an SGD-like update, statistics through ema.
  const rng = new Rng(11);
  for (const v of model.params.values()) v.assign(tf.add(v, tf.tensor(Array.from({ length: v.size }, () => rng.uniform(-1e-3, 1e-3)), v.shape)));
  model.setNormMode({ kind: 'ema', momentum: 0.5 });
  model.forward(x).logits.dispose();
  model.setNormMode({ kind: 'running' });
  const yCopy = copy.forward(x).logits;
  assert.deepEqual(bytesOf(yCopy), bytesOf(y0), 'the clone kept the original values');
  model.restore(snap);
  for (const [k, v] of model.params) assert.deepEqual(bytesOf(v), originalBytes.get(k), `param ${k}`);
  model.norms.forEach((n, i) => assert.deepEqual(bytesOf(n.runningVar), statBytes[i]));
  assert.deepEqual(bytesOf(model.forward(x).logits), bytesOf(y0));
  // A snapshot of the original restores into the clone (keys are source names).
  copy.params.get('fc.bias')!.assign(tf.zerosLike(copy.params.get('fc.bias')!));
  copy.restore(snap);
  assert.deepEqual(bytesOf(copy.params.get('fc.bias')!), originalBytes.get('fc.bias'));
  snap.dispose();
  tf.dispose([y0, yCopy, x]);
  copy.dispose();
  model.dispose();
});

test('forward + gradient steps on all parameters do not grow tf.memory().numTensors', async () => {
  const { model, x } = await resnet();
  model.setNormMode({ kind: 'ema', momentum: 0.05 });
  const vars = model.parameters('all');
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.square(model.forward(x).logits)) as tf.Scalar), vars);
    tf.tidy(() => vars.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1e-3)))));
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const start = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, start);
  x.dispose();
  model.dispose();
});

test('load, clone and dispose leave tf.memory() where it was, tensors and bytes', async () => {
  const before = tf.memory();
  const model = await loadOnnxModel(fixtureBytes('resnet-tiny'), { name: 'resnet-tiny' });
  const vars = model.params.size + 2 * model.norms.length;
  // One tensor per variable: no initial values left behind.
  assert.equal(tf.memory().numTensors - before.numTensors, vars);
  const copy = model.clone();
  assert.equal(tf.memory().numTensors - before.numTensors, 2 * vars);
  copy.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numBytes, before.numBytes);
});

test('forward rejects images of the wrong shape', async () => {
  const { model, x } = await resnet();
  assert.throws(() => model.forward(tf.zeros([1, 16, 16, 1]) as tf.Tensor4D), /3 channels, got shape \[1,16,16,1\]/);
  assert.throws(() => model.forward(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D), /expects 16x16 images, got 8x8/);
  x.dispose();
  model.dispose();
});
