import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

/**
 * Every registry method adapts in the runtime worker on WebGPU (SwiftShader here) without
 * losing the device: a synchronous GPU read (dataSync / arraySync) in the worker destroys it.
 * Small batches, few views and small memories keep the software GPU fast. EATA is left out:
 * the worker API has no way to pass the clean source images its Fisher term needs (ETA is the
 * same step without it).
 */
const METHODS: [string, Record<string, unknown>?][] = [
  ['source'],
  ['bn'],
  ['bn-alpha'],
  ['bn-ema'],
  ['tent'],
  ['eta'],
  // Anchor threshold 1: the augmented-view branch always runs.
  ['cotta', { views: 2, anchorThreshold: 1 }],
  // One memory update every 4 samples, so the 3 steps of batch 2 update once.
  ['rotta', { memorySize: 8, updateFrequency: 4 }],
  // alpha 1: every sample enters the memory, so SAM runs from the first step.
  ['stamp', { augViews: 2, memorySize: 8, alpha: 1, consistencyFilter: false }],
  // E0 = ln C: every sample is reliable, both SAM passes read their masks.
  ['sar', { eMarginCoef: 1 }],
  ['lame'],
];
const STEPS = 3;

interface Run {
  backend: string;
  error: string | null;
  stepsDone: number;
  finite: boolean;
  firstNonFinite: number | null;
  stats: Record<string, number>[];
  restarts: number;
  workerAlive: boolean;
  gpuBytesInUse: number | null;
}

let s: BrowserSession;
before(async () => {
  s = await openPage('methods-webgpu');
});
after(async () => s?.close());

for (const [method, overrides] of METHODS) {
  let run: Promise<Run> | undefined;
  const result = () => (run ??= s.call<Run>('runMethod', method, overrides, STEPS, 2));
  test(`${method} adapts ${STEPS} steps and a state round trip on WebGPU in the worker, device kept`, async () => {
    const r = await result();
    assert.equal(r.backend, 'webgpu');
    assert.equal(r.error, null, `${method}: ${r.error}`);
    assert.equal(r.restarts, 0);
    assert.ok(r.workerAlive, 'the worker is still running');
    assert.notEqual(r.gpuBytesInUse, null, 'the worker still runs on the WebGPU backend');
    assert.equal(r.stepsDone, STEPS + 1);
  });
  test(`${method} on WebGPU: adapted probabilities and stats are finite`, async () => {
    const r = await result();
    assert.ok(r.finite, `adapted probabilities are finite (first non-finite at step ${r.firstNonFinite})`);
    for (const st of r.stats) for (const [k, v] of Object.entries(st)) assert.ok(Number.isFinite(v) || k === 'lossEma', `${method} stat ${k} = ${v}`);
  });
}
