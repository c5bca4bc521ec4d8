/**
 * Adapted-state export/import through the runtime session (the path the worker, IndexedDB
 * and the restarting client use): bit-identical parameters and optimiser state, and
 * refusals that leave the running state untouched.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TTASession } from './session.ts';
import type { ImageBatch } from './images.ts';
import type { AdaptedState } from '../demo/persist.ts';
import { Rng } from '../util/rng.ts';

const FIXTURES = resolve(import.meta.dirname, '../../models/fixtures');
const onnx = (name: string) => new Uint8Array(readFileSync(resolve(FIXTURES, `${name}.onnx`)));

function batch(seed: number, n = 4): ImageBatch {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: n * 16 * 16 * 3 }, () => Math.floor(rng.random() * 256)), shape: [n, 16, 16, 3] };
}

async function tentSession(model = 'resnet-tiny', method = 'tent'): Promise<TTASession> {
  const s = new TTASession();
  await s.init('cpu');
  await s.loadModel({ format: 'onnx', bytes: onnx(model) }, { name: model });
  await s.startLanes({ method, dataset: 'cifar10', compareSource: false });
  return s;
}

/** Everything but the timestamp, for equality. */
const content = ({ savedAt: _, ...rest }: AdaptedState) => rest;

before(async () => {
  // Silence tfjs' Node hint; the cpu backend is float32 and deterministic.
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('IS_TEST', true);
});

test('export -> structured clone -> import restores parameters and Adam state bit-exactly; both then step identically', async () => {
  const a = await tentSession();
  for (const seed of [1, 2, 3]) await a.stepLanes(batch(seed));
  const saved = structuredClone(await a.exportState());
  assert.equal(saved.steps, 3);
  assert.ok(saved.methodState, 'Tent exports its optimiser state');
  assert.equal(saved.methodState.counters.optimizerStep, 3);
  assert.deepEqual(Object.keys(saved.methodState.tensors).sort(), ['expAvg', 'expAvgSq']);
  assert.ok(saved.methodState.tensors.expAvg!.every((r) => r !== null && r.data.some((v) => v !== 0)), 'moments are populated');

  const b = await tentSession();
  await b.stepLanes(batch(9)); // some other state, to be overwritten
  b.importState(saved);
  assert.deepEqual(content(await b.exportState()), content(saved), 'values and optimiser state equal, bit for bit');

  const [ra, rb] = [await a.stepLanes(batch(4)), await b.stepLanes(batch(4))];
  assert.deepEqual(rb.lanes.adapted!.probs, ra.lanes.adapted!.probs);
  assert.deepEqual(content(await b.exportState()), content(await a.exportState()), 'the next Adam step agrees too');

  // Without the moments the same step would differ: what the method state buys.
  const c = await tentSession();
  const { methodState: _, ...valuesOnly } = saved;
  assert.throws(() => c.importState(valuesOnly), /adapted state has no method state, method 'tent' needs its optimiser state/);
  [a, b, c].forEach((s) => s.dispose());
});

test('a state for another model, another method or with corrupt tensors is refused and changes nothing', async () => {
  const a = await tentSession();
  await a.stepLanes(batch(1));
  const saved = await a.exportState();

  const other = await tentSession('smooth-tiny');
  await other.stepLanes({ ...batch(2), shape: [4, 16, 16, 3] }).catch(() => undefined);
  const otherBefore = content(await other.exportState());
  assert.throws(() => other.importState(saved), /adapted state is for model 'resnet-tiny' \(sha256 [0-9a-f]{12}\), loaded is 'smooth-tiny'/);
  assert.deepEqual(content(await other.exportState()), otherBefore);

  const bn = await tentSession('resnet-tiny', 'bn');
  assert.throws(() => bn.importState(saved), /made by method 'tent', the running method is 'bn'/);

  const b = await tentSession();
  await b.stepLanes(batch(3));
  const bBefore = content(await b.exportState());
  const truncated = structuredClone(saved);
  truncated.methodState!.tensors.expAvg![0]!.data = truncated.methodState!.tensors.expAvg![0]!.data.slice(1);
  assert.throws(() => b.importState(truncated), /method state slot 'expAvg' entry 0 has \d+ values for shape \[\d+\]/);
  const wrongShape = structuredClone(saved);
  wrongShape.methodState!.tensors.expAvgSq![1] = { shape: [1], data: new Float32Array(1) };
  assert.throws(() => b.importState(wrongShape), /method slot 'expAvgSq' entry 1 has shape \[1\], method 'tent' has \[\d+\]/);
  const badList = structuredClone(saved);
  badList.methodState!.lists = { memoryLabels: [1, '<b>2</b>' as unknown as number] };
  assert.throws(() => b.importState(badList), /method state list 'memoryLabels' must be a list of finite numbers/);
  const fewer = structuredClone(saved);
  fewer.values.pop();
  assert.throws(() => b.importState(fewer), /adapted state has \d+ tensors, model 'resnet-tiny' has \d+/);
  assert.deepEqual(content(await b.exportState()), bBefore, 'every refusal left the running state as it was');
  [a, other, bn, b].forEach((s) => s.dispose());
});

test('memory-bank methods: a state with a full memory imports into a fresh session (empty memory) and replays the next step', async () => {
  const overrides = { stamp: { augViews: 2, alpha: 10, memorySize: 8 }, rotta: { updateFrequency: 4, memorySize: 8 } };
  for (const [method, o] of Object.entries(overrides)) {
    const a = new TTASession();
    await a.init('cpu');
    await a.loadModel({ format: 'onnx', bytes: onnx('resnet-tiny') }, { name: 'resnet-tiny' });
    await a.startLanes({ method, dataset: 'cifar10', compareSource: false, overrides: o });
    for (const seed of [1, 2, 3]) await a.stepLanes(batch(seed));
    const saved = structuredClone(await a.exportState());
    assert.ok((saved.methodState!.tensors.memoryImages ?? []).length > 0, `${method}: the memory holds items`);
    const b = new TTASession();
    await b.init('cpu');
    await b.loadModel({ format: 'onnx', bytes: onnx('resnet-tiny') }, { name: 'resnet-tiny' });
    await b.startLanes({ method, dataset: 'cifar10', compareSource: false, overrides: o });
    // The memory's labels travel as host lists: importing reads nothing back from the device
    // (a synchronous read in the worker would lose a WebGPU device).
    assert.ok((saved.methodState!.lists?.[method === 'rotta' ? 'memoryMeta' : 'memoryLabels'] ?? []).length > 0, `${method}: labels as a host list`);
    const reads = { n: 0 };
    const proto = tf.Tensor.prototype as unknown as Record<'dataSync' | 'arraySync', (...a: unknown[]) => unknown>;
    const originals = { dataSync: proto.dataSync, arraySync: proto.arraySync };
    for (const k of ['dataSync', 'arraySync'] as const) {
      proto[k] = function (this: tf.Tensor, ...args: unknown[]) {
        reads.n++;
        return originals[k].apply(this, args);
      };
    }
    try {
      b.importState(saved);
    } finally {
      Object.assign(proto, originals);
    }
    assert.equal(reads.n, 0, `${method}: no synchronous read while importing`);
    const [ra, rb] = [await a.stepLanes(batch(4)), await b.stepLanes(batch(4))];
    assert.deepEqual(rb.lanes.adapted!.probs, ra.lanes.adapted!.probs, `${method}: the next step agrees`);
    [a, b].forEach((s) => s.dispose());
  }
});
