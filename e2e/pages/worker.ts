import * as Comlink from 'comlink';
import { RuntimeClient } from '../../src/runtime/client.ts';
import type { ImageBatch } from '../../src/runtime/images.ts';
import type { BackendName } from '../../src/runtime/backend.ts';
import { decodeOnnx } from '../../src/model/onnx/decode.ts';
import { parseCifarBatch } from '../../src/data/cifar.ts';
import type { RuntimeWorkerApi } from '../../workers/runtime.worker.ts';

interface Fixture {
  input: { dims: number[]; data: string };
  eval: { dims: number[]; data: string };
}

function decodeF32(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** NCHW reference input -> NHWC batch for the runtime. */
function toNhwc(data: Float32Array, [n, c, h, w]: number[]): ImageBatch {
  const out = new Float32Array(data.length);
  for (let i = 0; i < n!; i++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++) out[((i * h! + y) * w! + x) * c! + k] = data[((i * c! + k) * h! + y) * w! + x]!;
  return { data: out, shape: [n!, h!, w!, c!] };
}

let client: RuntimeClient | undefined;
let fixture: Fixture;

export async function start(backend: string) {
  client = new RuntimeClient();
  const info = await client.init(backend as 'auto');
  fixture = await (await fetch('/models/fixtures/resnet-tiny.json')).json();
  const bytes = new Uint8Array(await (await fetch('/models/fixtures/resnet-tiny.onnx')).arrayBuffer());
  const model = await client.loadModel({ format: 'onnx', bytes }, { name: 'resnet-tiny' });
  return { backend: info.backend, model, bytesDetached: bytes.byteLength === 0 };
}

/** Max |softmax(reference logits) - worker probabilities| on the fixture batch. */
export async function predictFixture() {
  const batch = toNhwc(decodeF32(fixture.input.data), fixture.input.dims);
  const pred = await client!.predict(batch);
  const ref = decodeF32(fixture.eval.data);
  const [n, k] = fixture.eval.dims as [number, number];
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(ref.subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    row.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(Math.exp(v - m) / z - pred.probs[i * k + j]!))));
  }
  return { maxErr, shape: pred.shape, batchDetached: batch.data.byteLength === 0 };
}

/** Call `fn` and return its error message (or null when it did not throw). */
async function messageOf(fn: () => Promise<unknown>): Promise<string | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function badCalls() {
  return {
    wrongSize: await messageOf(() => client!.predict({ data: new Float32Array(2 * 8 * 8 * 3), shape: [2, 8, 8, 3] })),
    empty: await messageOf(() => client!.predict({ data: new Float32Array(0), shape: [0, 16, 16, 3] })),
    nan: await messageOf(() => client!.predict({ data: new Float32Array(16 * 16 * 3).fill(NaN), shape: [1, 16, 16, 3] })),
    badModel: await messageOf(() =>
      client!.loadModel({ format: 'onnx', bytes: new Uint8Array([8, 7, 18, 200, 1, 2]) }, { name: 'garbage' }),
    ),
  };
}

export async function predictBitmaps() {
  const canvas = new OffscreenCanvas(40, 30);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = 'rgb(200, 40, 90)';
  ctx.fillRect(0, 0, 40, 30);
  const bitmaps = [await createImageBitmap(canvas), await createImageBitmap(canvas)];
  const pred = await client!.predictBitmaps(bitmaps, 16, 16);
  const rowSums = [0, 1].map((i) => pred.probs.slice(i * 10, i * 10 + 10).reduce((s, v) => s + v, 0));
  return { shape: pred.shape, rowSums, transferred: bitmaps.every((b) => b.width === 0) };
}

const fetchBytes = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

/** The worker's norm-layer summaries next to the same summaries computed from the ONNX initializers. */
export async function normStatsVsOnnx() {
  const stats = await client!.normStats();
  const g = decodeOnnx(await fetchBytes('/models/fixtures/resnet-tiny.onnx'));
  const expected = g.nodes
    .filter((n) => n.opType === 'BatchNormalization')
    .map((n) => {
      const [w, b, m, v] = n.inputs.slice(1, 5).map((name) => g.initializers.get(name)!);
      return { name: n.name, channels: w!.dims[0]!, weightMean: mean(w!.data), biasMean: mean(b!.data), runningMeanMean: mean(m!.data), runningVarMean: mean(v!.data) };
    });
  return { stats, expected };
}

/**
 * The shipped CIFAR-10 classifier in a worker of its own on `backend`, on the first `count`
 * shipped test images: two predictions (the first compiles kernels), then dispose.
 */
export async function classifyCifar(backend: BackendName, count: number) {
  const c = new RuntimeClient({ maxRestarts: 0 });
  const info = await c.init(backend);
  const model = await c.loadModel({ format: 'onnx', bytes: await fetchBytes('/models/cifar10-resnet26.onnx') }, { name: 'cifar10-resnet26' });
  const samples = parseCifarBatch(await fetchBytes('/samples/cifar10/test_canonical_0-999.bin'));
  const batch = () => ({ data: samples.data.slice(0, count * 32 * 32 * 3), shape: [count, 32, 32, 3] as [number, number, number, number] });
  const first = await c.predict(batch());
  const second = await c.predict(batch());
  const normLayers = (await c.normStats()).length;
  await c.dispose();
  const reference = (await (await fetch('/models/reference/cifar10-resnet26.json')).json()) as { output: { shape: number[]; values: number[] } };
  return {
    backend: info.backend,
    numClasses: model.numClasses,
    normLayers,
    probs: Array.from(second.probs),
    labels: Array.from(second.labels),
    firstLabels: Array.from(first.labels),
    trueLabels: Array.from(samples.labels.subarray(0, count)),
    ms: [first.ms, second.ms],
    torch: reference.output,
  };
}

/** Call `fn` until it returns true, for at most `ms`. */
async function eventually(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!(await fn())) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * dispose() at both levels: the worker API's (the session frees the model; the worker stays
 * up) and the client's (the worker ends, later calls are refused).
 */
export async function disposeChecks() {
  const bytes = await fetchBytes('/models/fixtures/resnet-tiny.onnx');
  const raw = new Worker(new URL('../../workers/runtime.worker.ts', import.meta.url), { type: 'module' });
  const api = Comlink.wrap<RuntimeWorkerApi>(raw);
  await api.init('wasm');
  const base = (await api.memory()).numTensors;
  await api.loadModel({ format: 'onnx', bytes: bytes.slice() }, { name: 'resnet-tiny' });
  const loaded = (await api.memory()).numTensors;
  await api.dispose();
  const afterDispose = (await api.memory()).numTensors;
  const predictAfterDispose = await messageOf(() => api.predict({ data: new Float32Array(16 * 16 * 3), shape: [1, 16, 16, 3] }));
  raw.terminate();

  let name = '';
  const c = new RuntimeClient({
    maxRestarts: 0,
    createWorker: (n) => {
      name = n;
      return new Worker(new URL('../../workers/runtime.worker.ts', import.meta.url), { type: 'module', name: n });
    },
  });
  await c.init('wasm');
  await c.loadModel({ format: 'onnx', bytes: bytes.slice() }, { name: 'resnet-tiny' });
  const mine = async () => {
    const q = await navigator.locks.query();
    return [...(q.held ?? []), ...(q.pending ?? [])].filter((l) => l.name === name).length;
  };
  const lockHeldBefore = (await mine()) > 0;
  await c.dispose();
  return {
    base,
    loaded,
    afterDispose,
    predictAfterDispose,
    lockHeldBefore,
    // The worker's life lock goes when the worker ends.
    lockGoneAfter: await eventually(async () => (await mine()) === 0, 5000),
    workerAfter: c.worker === undefined,
    callAfter: await messageOf(() => c.memory()),
  };
}

export async function memory() {
  return client!.memory();
}

export async function stop() {
  await client?.dispose();
}
