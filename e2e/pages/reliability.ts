/** Worker crash, termination and WebGPU device loss under the restarting client (e2e/reliability.test.ts). */
import { RuntimeClient, type RestartEvent } from '../../src/runtime/client.ts';
import type { ImageBatch } from '../../src/runtime/images.ts';
import type { AdaptedState } from '../../src/demo/persist.ts';
import type { BackendChoice } from '../../src/runtime/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import { decodeImageBrowser } from '../../src/data/decode-browser.ts';
import { messageOf } from './errors.ts';

function batch(seed: number, n = 4): ImageBatch {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: n * 16 * 16 * 3 }, () => Math.floor(rng.random() * 256)), shape: [n, 16, 16, 3] };
}

async function modelBytes(): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch('/models/fixtures/resnet-tiny.onnx')).arrayBuffer());
}

/** Bit-exact comparison of two adapted states (timestamps aside). */
function sameState(a: AdaptedState, b: AdaptedState): boolean {
  const eq = (x: Float32Array, y: Float32Array) => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  if (a.hash !== b.hash || a.method !== b.method || a.steps !== b.steps || a.values.length !== b.values.length) return false;
  if (!a.values.every((r, i) => eq(r.data, b.values[i]!.data))) return false;
  const [ma, mb] = [a.methodState, b.methodState];
  if (!ma || !mb || JSON.stringify(ma.counters) !== JSON.stringify(mb.counters)) return false;
  return Object.entries(ma.tensors).every(([k, list]) => list.every((r, i) => (r === null ? mb.tensors[k]![i] === null : eq(r.data, mb.tensors[k]![i]!.data))));
}


async function adaptedClient(backend: BackendChoice, onRestart: (e: RestartEvent) => void) {
  const c = new RuntimeClient({ checkpointEvery: 1, onRestart });
  const info = await c.init(backend);
  await c.loadModel({ format: 'onnx', bytes: await modelBytes() }, { name: 'resnet-tiny' });
  await c.startLanes({ method: 'tent', dataset: 'cifar10', compareSource: false });
  return { c, info };
}

/**
 * Adapt 3 batches, end the worker ('terminate' from the page with a step in flight, or
 * 'exit' from inside), then check the restored state and the next step against a client
 * that never stopped.
 */
export async function restartAfter(kind: 'terminate' | 'exit') {
  const events: RestartEvent[] = [];
  let restarted!: () => void;
  const restartSeen = new Promise<void>((r) => (restarted = r));
  const { c } = await adaptedClient('wasm', (e) => {
    events.push(e);
    restarted();
  });
  const ref = (await adaptedClient('wasm', () => undefined)).c;
  for (const seed of [1, 2, 3]) {
    await c.stepLanes(batch(seed));
    await ref.stepLanes(batch(seed));
  }
  const saved = c.lastCheckpoint!;
  let inflight: string | null = null;
  if (kind === 'terminate') {
    // Terminated in the same task as the call, so the step (not the checkpoint after it) is the
    // one in flight whatever the machine's speed.
    const step = c.stepLanes(batch(4));
    c.worker!.terminate();
    inflight = await messageOf(step);
  } else {
    inflight = await messageOf(c.simulateFault('exit'));
  }
  await restartSeen;
  const restored = await c.exportState();
  const [next, refNext] = [await c.stepLanes(batch(5)), await ref.stepLanes(batch(5))];
  const sameNext = next.lanes.adapted!.probs.every((v, i) => Object.is(v, refNext.lanes.adapted!.probs[i]));
  const mem = await c.memory();
  await c.dispose();
  await ref.dispose();
  return { events, inflight, savedSteps: saved.steps, restoredSame: sameState(restored, saved), sameNext, numTensors: mem.numTensors };
}

/**
 * With restarts off, a terminated worker still cannot leave a call hanging: the call in
 * flight and every later call reject with a WorkerStoppedError within `waitMs`, and no new
 * worker is started.
 */
export async function noRestartAfterTerminate(waitMs: number) {
  const c = new RuntimeClient({ maxRestarts: 0 });
  await c.init('wasm');
  await c.loadModel({ format: 'onnx', bytes: await modelBytes() }, { name: 'resnet-tiny' });
  const settle = (p: Promise<unknown>) =>
    Promise.race([messageOf(p).then((m) => m ?? 'answered'), new Promise<string>((r) => setTimeout(() => r(`no answer after ${waitMs} ms`), waitMs))]);
  const inflight = c.predict(batch(1, 64));
  // Terminated in the same task as the call: a few ms' wait raced a fast machine's answer.
  c.worker!.terminate();
  const during = await settle(inflight);
  const later = await settle(c.memory());
  const result = { during, later, restarts: c.restarts.length, worker: c.worker !== undefined };
  await c.dispose();
  return result;
}

/** Adapt on WebGPU, destroy the device (as a GPU reset does), and continue on the fallback backend. */
export async function deviceLost() {
  const events: RestartEvent[] = [];
  let restarted!: () => void;
  const restartSeen = new Promise<void>((r) => (restarted = r));
  const { c, info } = await adaptedClient('webgpu', (e) => {
    events.push(e);
    restarted();
  });
  for (const seed of [1, 2]) await c.stepLanes(batch(seed));
  const saved = c.lastCheckpoint!;
  const fault = await messageOf(c.simulateFault('device-lost'));
  await restartSeen;
  const restored = await c.exportState();
  const next = await c.stepLanes(batch(3));
  const finite = next.lanes.adapted!.probs.every(Number.isFinite);
  await c.dispose();
  return { firstBackend: info.backend, events, fault, restoredSame: sameState(restored, saved), finite, stepsAfter: next.steps };
}

/** Same-length byte swap of an op type inside the ONNX protobuf: a valid file with an op we do not support. */
function withOpRenamed(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const [a, b] = [new TextEncoder().encode(from), new TextEncoder().encode(to)];
  const out = bytes.slice();
  for (let i = 0; i + a.length <= out.length; i++) {
    if (a.every((v, k) => out[i + k] === v)) out.set(b, i);
  }
  return out;
}

/**
 * Feed the adapting worker every kind of bad input; each must fail with its own message,
 * and the worker, its adapted state and its tensor count must come through unchanged.
 */
export async function badInputsKeepState() {
  const { c } = await adaptedClient('wasm', () => undefined);
  for (const seed of [1, 2]) await c.stepLanes(batch(seed));
  const before = await c.exportState();
  const tensorsBefore = (await c.memory()).numTensors;
  const bytes = await modelBytes();
  // A PNG signature followed by garbage: sniffed as PNG, undecodable.
  const corruptPng = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]);
  const errors: Record<string, string | null> = {
    truncatedOnnx: await messageOf(c.loadModel({ format: 'onnx', bytes: bytes.slice(0, bytes.length >> 1) }, { name: 'half.onnx' })),
    unsupportedOp: await messageOf(c.loadModel({ format: 'onnx', bytes: withOpRenamed(bytes, 'Relu', 'Celu') }, { name: 'celu.onnx' })),
    malformedModelJson: await messageOf(c.loadModel({ format: 'tfjs-layers', modelJson: { format: 'not-a-model' }, weights: new Map() }, { name: 'model.json' })),
    wrongSize: await messageOf(c.stepLanes({ data: new Uint8Array(2 * 8 * 8 * 3), shape: [2, 8, 8, 3] })),
    wrongChannels: await messageOf(c.stepLanes({ data: new Uint8Array(2 * 16 * 16 * 4), shape: [2, 16, 16, 4] })),
    emptyBatch: await messageOf(c.stepLanes({ data: new Uint8Array(0), shape: [0, 16, 16, 3] })),
    shortBuffer: await messageOf(c.stepLanes({ data: new Uint8Array(100), shape: [2, 16, 16, 3] })),
    nanPixels: await messageOf(c.stepLanes({ data: new Float32Array(2 * 16 * 16 * 3).fill(NaN), shape: [2, 16, 16, 3] })),
    corruptImage: await messageOf(decodeImageBrowser(corruptPng, 'frame.png')),
    notAnImage: await messageOf(decodeImageBrowser(new TextEncoder().encode('<script>alert(1)</script>'), 'labels.html')),
  };
  const after = await c.exportState();
  const tensorsAfter = (await c.memory()).numTensors;
  const next = await c.stepLanes(batch(3));
  const restarts = c.restarts.length;
  await c.dispose();
  return { errors, sameState: sameState(after, before), tensorsBefore, tensorsAfter, nextSteps: next.steps, restarts };
}
