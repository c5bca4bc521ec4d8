/**
 * A step that throws half-way (backend error, lost device, bad layer) must not leak: every
 * method is run with the model's k-th forward call of a step throwing, for every k the step
 * makes, and the live tensor count must be what it was before the failed step.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createMethod } from './index.ts';
import type { AdaptableModel } from '../model/types.ts';
import { tensorSource } from './shared/fisher.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend } from './testing/backend.ts';

before(useCpuBackend);

interface ForwardCounter {
  calls: number;
  /** 1-based forward call that throws (0: none). */
  failAt: number;
}

/** The model with a forward that throws on call `counter.failAt`; clones (teachers, anchors) share the counter. */
function failingModel(inner: AdaptableModel, counter: ForwardCounter): AdaptableModel {
  return {
    info: inner.info,
    norms: inner.norms,
    params: inner.params,
    forward(images, opts) {
      counter.calls++;
      if (counter.calls === counter.failAt) throw new Error(`injected failure in forward call ${counter.calls}`);
      return inner.forward(images, opts);
    },
    setNormMode: (mode, filter) => inner.setNormMode(mode, filter),
    parameters: (set) => inner.parameters(set),
    snapshot: (vars) => inner.snapshot(vars),
    restore: (snap) => inner.restore(snap),
    clone: () => failingModel(inner.clone(), counter),
    dispose: () => inner.dispose(),
  };
}

const ctx = { seed: 3, dataset: 'cifar10' as const };
const batch = 8;

// Overrides make every step run its whole path (updates, views, memory replay).
const cases: [string, Record<string, unknown>][] = [
  ['source', {}],
  ['bn', {}],
  ['bn-ema', {}],
  ['tent', { steps: 2 }],
  ['eata', { eMarginCoef: 10, dMargin: 1.01, fisherSize: 8, fisherBatchSize: 4 }],
  ['eta', { eMarginCoef: 10, dMargin: 1.01 }],
  ['cotta', { anchorThreshold: 1.1, views: 3, viewsPerForward: 2, restoreProb: 0.5 }],
  ['cotta', { anchorThreshold: 0, restoreProb: 0.5 }],
  ['rotta', { memorySize: 4, updateFrequency: batch }],
  ['stamp', { alpha: 10, consistencyFilter: false, memorySize: 4, augViews: 2 }],
  ['sar', { eMarginCoef: 10 }],
  ['lame', {}],
];

for (const [name, overrides] of cases) {
  test(`${name} ${JSON.stringify(overrides)}: a step whose k-th forward throws leaves no tensors behind`, async () => {
    const counter: ForwardCounter = { calls: 0, failAt: 0 };
    const inner = createTinyModel({ seed: 5 });
    const model = failingModel(inner, counter);
    const source = randomImages(8, 8, 99);
    const method = await createMethod(name, model, { ...ctx, sourceData: tensorSource(source) }, { overrides });
    const images = randomImages(batch, 8, 1);
    const runStep = async () => {
      const r = await method.step(images);
      r.probs.dispose();
      r.outlierScore?.dispose();
    };
    // Test images a memory admits before the failure are state it keeps: one tensor each.
    const memory = () => (method.state().memory as number | undefined) ?? 0;
    // Warm-up: optimiser slots and moving averages exist afterwards.
    for (let i = 0; i < 3; i++) await runStep();
    counter.calls = 0;
    await runStep();
    const forwards = counter.calls;
    assert.ok(forwards >= 1, `${name}: a step calls forward`);
    for (let k = 1; k <= forwards; k++) {
      const live = tf.memory().numTensors;
      const stored = memory();
      counter.calls = 0;
      counter.failAt = k;
      await assert.rejects(runStep(), /injected failure/);
      assert.equal(tf.memory().numTensors - live, memory() - stored, `${name}: live tensors after forward call ${k} of ${forwards} threw`);
    }
    // The method still works after the failures, without growth.
    counter.failAt = 0;
    const live = tf.memory().numTensors;
    const stored = memory();
    await runStep();
    assert.equal(tf.memory().numTensors - live, memory() - stored, `${name}: a good step after the failures`);
    method.dispose();
    model.dispose();
    tf.dispose([source, images]);
  });
}

test('sar: a failing perturbed (second) SAM pass puts the weights back to w, not w + e', async () => {
  const counter: ForwardCounter = { calls: 0, failAt: 0 };
  const model = failingModel(createTinyModel({ seed: 5 }), counter);
  const method = await createMethod('sar', model, ctx, { overrides: { eMarginCoef: 10, lr: 0.05 } });
  const images = randomImages(batch, 8, 1);
  (await method.step(images)).probs.dispose();
  const vars = model.parameters('norm-affine-except-last-stage');
  const before = vars.map((v) => Array.from(v.dataSync()));
  counter.calls = 0;
  counter.failAt = 2;
  await assert.rejects(method.step(images), /injected failure/);
  vars.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), before[i], `${v.name} unchanged`));
  method.dispose();
  model.dispose();
  images.dispose();
});
