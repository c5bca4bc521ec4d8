/** Short in-browser soak (e2e/soak.test.ts): the adapting worker over many batches of sizes 1..64. */
import { RuntimeClient } from '../../src/runtime/client.ts';
import { Rng } from '../../src/util/rng.ts';

export async function soak(batches: number, method: string) {
  const c = new RuntimeClient({ checkpointEvery: 0 });
  const info = await c.init('wasm');
  const bytes = new Uint8Array(await (await fetch('/models/fixtures/resnet-tiny.onnx')).arrayBuffer());
  await c.loadModel({ format: 'onnx', bytes }, { name: 'resnet-tiny' });
  await c.startLanes({ method, dataset: 'cifar10', compareSource: true });
  const rng = new Rng(7);
  const samples: { batch: number; numTensors: number; numBytes: number; wasmHeapBytes: number; finite: boolean }[] = [];
  for (let b = 0; b < batches; b++) {
    // Sizes 1..64, with the largest first so the WASM heap has grown to its peak before it is compared.
    const n = b === 0 ? 64 : 1 + Math.floor(rng.random() * 64);
    const data = Uint8Array.from({ length: n * 16 * 16 * 3 }, () => Math.floor(rng.random() * 256));
    const out = await c.stepLanes({ data, shape: [n, 16, 16, 3] });
    const finite = Object.values(out.lanes).every((l) => l.probs.every(Number.isFinite));
    const m = await c.memory();
    samples.push({ batch: n, numTensors: m.numTensors, numBytes: m.numBytes, wasmHeapBytes: m.wasmHeapBytes ?? -1, finite });
  }
  const guardEvents = await c.takeGuardEvents();
  await c.dispose();
  return { backend: info.backend, samples, guardEvents };
}
