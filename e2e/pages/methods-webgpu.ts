/**
 * Every registry method adapting in the runtime worker on WebGPU (e2e/methods-webgpu.test.ts).
 * Restarts are off, so a lost device (e.g. from a synchronous GPU read) fails the run instead
 * of silently continuing on wasm.
 */
import { RuntimeClient } from '../../src/runtime/client.ts';
import type { ImageBatch } from '../../src/runtime/images.ts';
import { Rng } from '../../src/util/rng.ts';
import { messageOf } from './errors.ts';

function batch(seed: number, n: number): ImageBatch {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: n * 16 * 16 * 3 }, () => Math.floor(rng.random() * 256)), shape: [n, 16, 16, 3] };
}


/**
 * `steps` lane steps of batch `n` with one method on a fresh worker, then an export/import of
 * the adapted state (RoTTA and STAMP read their memory metadata back there) and one more step.
 */
export async function runMethod(method: string, overrides: Record<string, unknown> | undefined, steps: number, n: number) {
  const c = new RuntimeClient({ maxRestarts: 0, checkpointEvery: 0 });
  const info = await c.init('webgpu');
  const bytes = new Uint8Array(await (await fetch('/models/fixtures/resnet-tiny.onnx')).arrayBuffer());
  await c.loadModel({ format: 'onnx', bytes }, { name: 'resnet-tiny' });
  const stats: Record<string, number>[] = [];
  let finite = true;
  let stepsDone = 0;
  let firstNonFinite: number | null = null;
  const error = await messageOf(
    (async () => {
      await c.startLanes({ method, dataset: 'cifar10', compareSource: false, guard: false, ...(overrides ? { overrides } : {}) });
      for (let s = 0; s <= steps; s++) {
        if (s === steps) await c.importState(await c.exportState());
        const out = await c.stepLanes(batch(s + 1, n));
        stepsDone = out.steps;
        stats.push(out.stats);
        const ok = out.lanes.adapted!.probs.every(Number.isFinite);
        if (!ok && finite) firstNonFinite = s;
        finite &&= ok;
      }
    })(),
  );
  const memory = c.worker ? await c.memory().catch(() => null) : null;
  const result = { backend: info.backend, error, stepsDone, finite, firstNonFinite, stats, restarts: c.restarts.length, workerAlive: c.worker !== undefined, gpuBytesInUse: memory?.gpuBytesInUse ?? null };
  await c.dispose().catch(() => undefined);
  return result;
}
