import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createMethod } from './index.ts';
import type { MethodState } from './types.ts';
import { createTinyModel, randomImages } from './testing/tiny-model.ts';
import { useCpuBackend, values } from './testing/backend.ts';

before(useCpuBackend);

const ctx = { seed: 4, dataset: 'cifar10' as const };

// The random stream is part of the state: CoTTA's views and restore, RoTTA's replay
// augmentations and STAMP's views and memory eviction all replay exactly.
const cases: [string, Record<string, unknown>][] = [
  ['tent', {}],
  ['eta', { eMarginCoef: 10, dMargin: 0.99 }],
  ['sar', { eMarginCoef: 10, resetConstant: 0, lr: 0.05 }],
  ['cotta', { restoreProb: 0.3, anchorThreshold: 1.01, views: 4 }],
  ['stamp', { augViews: 2, alpha: 10, memorySize: 8 }],
  ['rotta', { updateFrequency: 6, memorySize: 16 }],
];

for (const [name, overrides] of cases) {
  test(`${name}: exported state + model snapshot replay the next step bit-exactly`, async () => {
    const model = createTinyModel({ seed: 9 });
    const method = await createMethod(name, model, ctx, { overrides });
    const batches = [1, 2, 3].map((s) => randomImages(6, 8, s));
    for (const x of batches.slice(0, 2)) (await method.step(x)).probs.dispose();
    const snap = model.snapshot();
    const saved: MethodState = method.exportState!();
    const r1 = await method.step(batches[2]!);
    const after1 = [...model.params.values()].map(values);
    const probs1 = values(r1.probs);
    const state1 = JSON.stringify(method.state());
    (await method.step(batches[0]!)).probs.dispose(); // move on, then go back
    model.restore(snap);
    method.importState!(saved);
    const r2 = await method.step(batches[2]!);
    assert.deepEqual([...model.params.values()].map(values), after1);
    assert.deepEqual(values(r2.probs), probs1);
    assert.equal(JSON.stringify(method.state()), state1, 'counters and memory occupancy replay too');
    [r1.probs, r2.probs, r1.outlierScore, r2.outlierScore].forEach((t) => t?.dispose());
    Object.values(saved.tensors).flat().forEach((t) => t?.dispose());
    snap.dispose();
    method.dispose();
  });
}
