import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, type BrowserSession } from './browser.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('worker');
});
after(async () => {
  await s?.call('stop');
  await s?.close();
});

test('the worker loads an ONNX model and reproduces PyTorch probabilities', async () => {
  const started = await s.call<{ backend: string; model: { numClasses: number; inputShape: number[] }; bytesDetached: boolean }>(
    'start',
    'auto',
  );
  assert.equal(started.backend, 'wasm');
  assert.equal(started.model.numClasses, 10);
  assert.deepEqual(started.model.inputShape, [16, 16, 3]);
  assert.equal(started.bytesDetached, true, 'model bytes are transferred, not copied');
  const r = await s.call<{ maxErr: number; shape: number[]; batchDetached: boolean }>('predictFixture');
  assert.deepEqual(r.shape, [4, 10]);
  assert.ok(r.maxErr < 1e-5, `max prob error ${r.maxErr}`);
  assert.equal(r.batchDetached, true);
});

test('normStats: one entry per BatchNormalization with the statistics the ONNX file holds', async () => {
  const { stats, expected } = await s.call<{ stats: Record<string, number | string>[]; expected: Record<string, number | string>[] }>('normStatsVsOnnx');
  assert.equal(stats.length, 9);
  assert.equal(expected.length, 9);
  assert.equal(stats.map((n) => n.stage).join(''), '000111222');
  stats.forEach((n, i) => {
    const want = expected[i]!;
    assert.equal(n.name, want.name);
    assert.equal(n.channels, want.channels);
    assert.equal(n.mode, 'running');
    for (const k of ['weightMean', 'biasMean', 'runningMeanMean', 'runningVarMean']) {
      assert.ok(Math.abs((n[k] as number) - (want[k] as number)) < 1e-6, `${n.name} ${k}: worker ${n[k]}, ONNX ${want[k]}`);
    }
  });
});

test('errors in the worker reach the caller by message and the worker keeps working', async () => {
  const before = await s.call<{ numTensors: number }>('memory');
  const e = await s.call<Record<string, string | null>>('badCalls');
  assert.match(e.wrongSize ?? '', /8x8x3 does not match the model input 16x16x3/);
  assert.match(e.empty ?? '', /empty batch/);
  assert.match(e.nan ?? '', /outside \[0, 1\]/);
  assert.ok(e.badModel, 'a malformed ONNX file is rejected');
  assert.match(e.badModel!, /garbage/, `names the file: ${e.badModel}`);
  const r = await s.call<{ maxErr: number }>('predictFixture');
  assert.ok(r.maxErr < 1e-5, 'the earlier model is intact after a failed load');
  const afterMem = await s.call<{ numTensors: number }>('memory');
  assert.equal(afterMem.numTensors, before.numTensors, 'failed calls leak no tensors');
});

test('ImageBitmaps are transferred, resized to the model input and classified', async () => {
  const r = await s.call<{ shape: number[]; rowSums: number[]; transferred: boolean }>('predictBitmaps');
  assert.deepEqual(r.shape, [2, 10]);
  r.rowSums.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5));
  assert.equal(r.transferred, true);
});

interface Classified {
  backend: string;
  numClasses: number;
  normLayers: number;
  probs: number[];
  labels: number[];
  firstLabels: number[];
  trueLabels: number[];
  ms: number[];
  torch: { shape: number[]; values: number[] };
}

/** Logits up to a per-row constant (softmax hides it): log-probabilities centred per row. */
function centredLogits(values: number[], classes: number, fromProbs: boolean): number[][] {
  const rows = Array.from({ length: values.length / classes }, (_, i) => values.slice(i * classes, (i + 1) * classes));
  return rows.map((row) => {
    const l = fromProbs ? row.map(Math.log) : row;
    const m = l.reduce((a, b) => a + b, 0) / classes;
    return l.map((v) => v - m);
  });
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

test('the shipped CIFAR-10 classifier runs in the worker on wasm and on webgpu (SwiftShader) alike', async () => {
  const count = 8;
  const runs: Classified[] = [];
  for (const backend of ['wasm', 'webgpu']) {
    const r = await s.call<Classified>('classifyCifar', backend, count);
    console.log(`cifar10-resnet26, ${count} images, worker on ${r.backend}: first predict ${r.ms[0]!.toFixed(0)} ms (kernel set-up), second ${r.ms[1]!.toFixed(0)} ms`);
    assert.equal(r.backend, backend);
    assert.equal(r.numClasses, 10);
    assert.equal(r.normLayers, 27, 'the card says 27 BatchNorm layers');
    assert.equal(r.probs.length, count * 10);
    r.ms.forEach((ms) => assert.ok(Number.isFinite(ms) && ms > 0, `Prediction.ms ${ms}`));
    assert.deepEqual(r.firstLabels, r.labels);
    runs.push(r);
  }
  const [wasm, gpu] = runs as [Classified, Classified];
  const onWasm = centredLogits(wasm.probs, 10, true);
  const gpuVsWasm = maxDiff(centredLogits(gpu.probs, 10, true), onWasm);
  assert.ok(gpuVsWasm < 1e-3, `webgpu vs wasm logits: max diff ${gpuVsWasm}`);
  assert.deepEqual(gpu.labels, wasm.labels);
  // models/reference holds PyTorch's logits for the first 4 of these images.
  const torch = centredLogits(wasm.torch.values, 10, false);
  const wasmVsTorch = maxDiff(onWasm.slice(0, torch.length), torch);
  console.log(`centred logits, max abs diff: webgpu vs wasm ${gpuVsWasm.toExponential(2)}, wasm vs PyTorch ${wasmVsTorch.toExponential(2)}`);
  assert.ok(wasmVsTorch < 1e-3, `wasm vs PyTorch logits: max diff ${wasmVsTorch}`);
  const torchLabels = torch.map((row) => row.indexOf(Math.max(...row)));
  assert.deepEqual(wasm.labels.slice(0, torch.length), torchLabels);
  assert.deepEqual(torchLabels, wasm.trueLabels.slice(0, torch.length));
});

test('dispose: the worker API frees the model and the worker stays up; the client ends its worker and refuses later calls', async () => {
  const r = await s.call<{
    base: number;
    loaded: number;
    afterDispose: number;
    predictAfterDispose: string | null;
    lockHeldBefore: boolean;
    lockGoneAfter: boolean;
    workerAfter: boolean;
    callAfter: string | null;
  }>('disposeChecks');
  assert.ok(r.loaded > r.base, `tensors: ${r.base} before load, ${r.loaded} after`);
  assert.equal(r.afterDispose, r.base, 'every tensor of the model freed');
  assert.match(r.predictAfterDispose ?? '', /no model loaded/);
  assert.equal(r.lockHeldBefore, true, "the client's worker holds its life lock");
  assert.equal(r.lockGoneAfter, true, 'the worker ended: its life lock is released');
  assert.equal(r.workerAfter, true);
  assert.match(r.callAfter ?? '', /memory: the runtime client is disposed/);
});
