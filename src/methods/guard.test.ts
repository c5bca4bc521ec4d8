import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { guardMethod, resolveGuardOptions, type GuardEvent } from './guard.ts';
import { createTent } from './tent.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values, tensorGrowth } from './testing/backend.ts';
import { Rng } from '../util/rng.ts';
import type { AdaptableModel } from '../model/types.ts';
import type { MethodState, TTAMethod } from './types.ts';

before(useCpuBackend);

const ctx = { seed: 0, dataset: 'cifar10' as const };

/** Every parameter and statistic, in the model's snapshot order. */
function modelValues(model: AdaptableModel): number[][] {
  const snap = model.snapshot();
  const out = [...snap.values.values()].map(values);
  snap.dispose();
  return out;
}

function methodValues(method: TTAMethod): { counters: Record<string, number>; tensors: (number[] | null)[] } {
  const s = method.exportState!();
  const tensors = Object.values(s.tensors).flat().map((t) => (t ? values(t) : null));
  Object.values(s.tensors).flat().forEach((t) => t?.dispose());
  return { counters: s.counters, tensors };
}

const allFinite = (xs: number[][]) => xs.every((a) => a.every(Number.isFinite));

function nanImages(n: number): tf.Tensor4D {
  return tf.tidy(() => randomImages(n, 8, 99).mul(tf.scalar(NaN)) as tf.Tensor4D);
}

/** Random pixels under a strong per-image colour tint: the tiny model (seed 2, batch statistics) spreads these over all 4 classes. */
function tintedImages(n: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const tint = tf.tensor4d(Float32Array.from({ length: n * 3 }, () => rng.random()), [n, 1, 1, 3]);
    return randomImages(n, 8, seed).mul(0.3).add(tint.mul(0.7)) as tf.Tensor4D;
  });
}

async function run(method: TTAMethod, batches: tf.Tensor4D[]): Promise<Record<string, number>[]> {
  const stats = [];
  for (const x of batches) {
    const out = await method.step(x);
    out.probs.dispose();
    stats.push(out.stats);
  }
  return stats;
}

test('a NaN loss / gradient skips the update and rolls parameters and optimiser state back bit-exactly', async () => {
  const [x1, x2, x3] = [1, 2, 3].map((s) => randomImages(6, 8, s));
  const bad = nanImages(6);

  // Unprotected, one bad batch poisons the model and Adam's moments for good.
  const plainModel = createTinyModel({ seed: 4 });
  const plain = createTent(plainModel, ctx);
  await run(plain, [x1!, x2!, bad, x3!]);
  assert.ok(!allFinite(modelValues(plainModel)), 'without the guard the parameters become NaN');
  plain.dispose();

  // Reference: the same stream without the bad batch.
  const refModel = createTinyModel({ seed: 4 });
  const ref = createTent(refModel, ctx);
  await run(ref, [x1!, x2!, x3!]);

  const model = createTinyModel({ seed: 4 });
  const events: GuardEvent[] = [];
  const guarded = guardMethod(createTent(model, ctx), model, { collapse: false }, (e) => events.push(e));
  const stats = await run(guarded, [x1!, x2!, bad, x3!]);
  assert.deepEqual(stats.map((s) => s.guardSkipped), [0, 0, 1, 0]);
  assert.deepEqual(modelValues(model), modelValues(refModel), 'parameters and statistics equal the run that never saw the bad batch');
  assert.deepEqual(methodValues(guarded), methodValues(ref), 'optimiser step and moments too');
  assert.equal(guarded.counters().rollbacks, 1);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'rollback');
  assert.equal(events[0]!.step, 3);
  assert.match(events[0]!.reason, /non-finite loss \(NaN\), prediction, parameters or statistics, method state/);
  guarded.dispose();
  ref.dispose();
  [x1, x2, x3, bad].forEach((t) => t!.dispose());
});

test('without exportable method state, repeated bad steps end in a reset to the source model', async () => {
  const model = createTinyModel({ seed: 5 });
  const source = modelValues(model);
  const tent = createTent(model, ctx);
  // Hide exportState/importState: the guard can roll back only the model's values, Adam's moments stay NaN.
  const opaque: TTAMethod = { name: tent.name, adapts: tent.adapts, step: (x) => tent.step(x), reset: () => tent.reset(), state: () => tent.state(), dispose: () => tent.dispose() };
  const events: GuardEvent[] = [];
  const guarded = guardMethod(opaque, model, { collapse: false, maxConsecutiveRollbacks: 3 }, (e) => events.push(e));
  const good = [1, 2, 3].map((s) => randomImages(4, 8, s));
  const bad = nanImages(4);
  await run(guarded, [good[0]!]);
  const afterFirst = modelValues(model);
  const stats = await run(guarded, [bad, good[1]!]);
  assert.deepEqual(stats.map((s) => s.guardSkipped), [1, 1], 'the poisoned optimiser makes the next good batch fail too');
  assert.deepEqual(modelValues(model), afterFirst, 'each failure rolls the parameters back');
  const [third] = await run(guarded, [good[2]!]);
  assert.equal(third!.guardReset, 1);
  assert.deepEqual(modelValues(model), source, 'third failure in a row: back to the source values, bit-exactly');
  assert.deepEqual(events.map((e) => e.kind), ['rollback', 'rollback', 'rollback', 'reset']);
  const [next] = await run(guarded, [good[0]!]);
  assert.equal(next!.guardSkipped, 0, 'the fresh optimiser works again');
  assert.ok(allFinite(modelValues(model)));
  assert.deepEqual(modelValues(model), afterFirst, 'and repeats the first step exactly');
  guarded.dispose();
  [...good, bad].forEach((t) => t.dispose());
});

test('a step that throws half way leaves the state as it was', async () => {
  const model = createTinyModel({ seed: 6 });
  const tent = createTent(model, ctx);
  let fail = false;
  // Fault injection: the update happens, then the step fails (as a backend error after the optimiser ran would).
  const flaky: TTAMethod = {
    ...tent,
    name: 'flaky-tent',
    step: async (x) => {
      const out = await tent.step(x);
      if (fail) {
        out.probs.dispose();
        throw new Error('injected failure after the update');
      }
      return out;
    },
  };
  const guarded = guardMethod(flaky, model, { collapse: false });
  const x = randomImages(4, 8, 1);
  await run(guarded, [x]);
  const [v, s] = [modelValues(model), methodValues(guarded)];
  fail = true;
  await assert.rejects(guarded.step(x), /injected failure after the update/);
  assert.deepEqual(modelValues(model), v);
  assert.deepEqual(methodValues(guarded), s);
  guarded.dispose();
  x.dispose();
});

test('collapse (one class takes the window) resets to the source model and is reported; "report" only reports', async () => {
  const stream = Array.from({ length: 12 }, (_, i) => tintedImages(8, 10 + i));
  // Entropy minimisation with SGD at lr 20 drives every prediction to one class within a few steps.
  const collapsing = async (action: 'reset' | 'report') => {
    const model = createTinyModel({ seed: 2 });
    const source = modelValues(model);
    const events: GuardEvent[] = [];
    const guarded = guardMethod(createTent(model, ctx, { optimizer: 'sgd', lr: 20 }), model, { collapse: { windowImages: 16, maxClassShare: 0.95, action } }, (e) => events.push(e));
    const stats = await run(guarded, stream);
    return { model, source, events, stats, guarded };
  };
  const r = await collapsing('reset');
  const first = r.events.findIndex((e) => e.kind === 'collapse');
  assert.ok(first >= 0, `a collapse is detected: ${JSON.stringify(r.events)}`);
  assert.match(r.events[first]!.reason, /class \d took (9[5-9]|100)\.\d% of the last 16 images' predictions.*reset to the source model/);
  assert.equal(r.stats[r.events[first]!.step - 1]!.guardReset, 1);
  assert.ok(r.guarded.counters().resets >= 1);
  r.guarded.reset();
  assert.deepEqual(modelValues(r.model), r.source);
  r.guarded.dispose();

  const q = await collapsing('report');
  assert.ok(q.events.some((e) => e.kind === 'collapse'));
  assert.equal(q.guarded.counters().resets, 0);
  assert.ok(q.stats.every((s) => s.guardReset === 0));
  q.guarded.dispose();

  // Unprotected control: the same run never returns to the source.
  const model = createTinyModel({ seed: 2 });
  const source = modelValues(model);
  const plain = createTent(model, ctx, { optimizer: 'sgd', lr: 20 });
  await run(plain, stream);
  assert.notDeepEqual(modelValues(model), source);
  plain.dispose();

  // A diverse stream with a window of the same size never counts as collapse.
  const calm = createTinyModel({ seed: 2 });
  const calmGuard = guardMethod(createTent(calm, ctx), calm, { collapse: { windowImages: 16, maxClassShare: 0.95 } });
  await run(calmGuard, stream);
  assert.equal(calmGuard.counters().collapses, 0);
  calmGuard.dispose();
  stream.forEach((t) => t.dispose());
});

test('low mean entropy over the window also counts as collapse when asked', async () => {
  const model = createTinyModel({ seed: 2 });
  const events: GuardEvent[] = [];
  // Threshold 0.99 of ln(4): any not-quite-uniform prediction trips it, so the entropy path is exercised.
  const guarded = guardMethod(createTent(model, ctx), model, { collapse: { windowImages: 8, maxClassShare: 1, minNormalizedEntropy: 0.99 } }, (e) => events.push(e));
  const x = tintedImages(8, 3);
  await run(guarded, [x]);
  assert.equal(events[0]?.kind, 'collapse');
  assert.match(events[0]!.reason, /mean prediction entropy fell to 0\.\d{4} of ln\(4\) over the last 8 images/);
  guarded.dispose();
  x.dispose();
});

test('guarded steps, rollbacks and resets leak no tensors', async () => {
  const model = createTinyModel({ seed: 9 });
  const guarded = guardMethod(createTent(model, ctx), model, { maxConsecutiveRollbacks: 2, collapse: { windowImages: 4, maxClassShare: 0.5 } });
  const good = randomImages(4, 8, 1);
  const bad = nanImages(4);
  const growth = await tensorGrowth(async () => {
    await run(guarded, [good, bad, good, bad, bad, good]);
  });
  assert.equal(growth, 0);
  assert.ok(guarded.counters().rollbacks > 0 && guarded.counters().resets > 0, JSON.stringify(guarded.counters()));
  guarded.dispose();
  good.dispose();
  bad.dispose();
});

test('state export passes through the guard; bad options are rejected by name', () => {
  const model = createTinyModel();
  const tent = createTent(model, ctx);
  const g = guardMethod(tent, model);
  const s: MethodState = g.exportState!();
  assert.deepEqual(Object.keys(s.tensors).sort(), ['expAvg', 'expAvgSq']);
  g.importState!(s);
  Object.values(s.tensors).flat().forEach((t) => t?.dispose());
  g.dispose();
  assert.throws(() => resolveGuardOptions({ maxConsecutiveRollbacks: 0 }), /maxConsecutiveRollbacks must be an integer >= 1, got 0/);
  assert.throws(() => resolveGuardOptions({ collapse: { maxClassShare: 1.5 } }), /collapse.maxClassShare must be in \(0, 1\], got 1.5/);
  assert.throws(() => resolveGuardOptions({ collapse: { action: 'explode' as 'reset' } }), /collapse.action must be 'reset' or 'report'/);
  assert.equal(resolveGuardOptions({ collapse: false }).collapse, false);
});
