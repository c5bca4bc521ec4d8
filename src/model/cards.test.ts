import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { cardAccuracy, cardPreprocess, loadModelCard, parseModelCard, sha256Hex, type ModelCard } from './cards.ts';

const MODELS = resolve(import.meta.dirname, '../../models');
const read = async (p: string) => new Uint8Array(readFileSync(join(MODELS, p)));
const cardNames = readdirSync(MODELS).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

test('the shipped cards exist and every file matches its sha256 and size', async () => {
  for (const expected of ['cifar10-resnet26', 'cifar10-resnet26x2-cutout', 'camvid-unet', 'darknet-tiny']) {
    assert.ok(cardNames.includes(expected), `models/${expected}.json missing`);
  }
  for (const name of cardNames) {
    const { card, files } = await loadModelCard(name, read, ['model', 'weights', 'pytorch-state-dict', 'reference', 'label-map']);
    assert.equal(card.name, name);
    assert.equal(files.size, card.files.length);
    for (const f of card.files) {
      const bytes = readFileSync(join(MODELS, f.path));
      assert.equal(await sha256Hex(new Uint8Array(bytes)), f.sha256, f.path);
    }
  }
});

test('sha256Hex matches the FIPS 180-2 test vector', async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode('abc')),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});

test('a changed file is rejected naming the file', async () => {
  const name = 'cifar10-resnet26';
  const tampered = async (p: string) => {
    const bytes = await read(p);
    if (p.endsWith('.onnx')) bytes[bytes.length - 1] ^= 1;
    return bytes;
  };
  await assert.rejects(loadModelCard(name, tampered), /cifar10-resnet26\.onnx sha256 [0-9a-f]{64} differs/);
  const truncated = async (p: string) => (p.endsWith('.onnx') ? (await read(p)).subarray(1) : read(p));
  await assert.rejects(loadModelCard(name, truncated), /cifar10-resnet26\.onnx has \d+ bytes, the card says/);
});

test('malformed cards fail naming the field', () => {
  const good = JSON.parse(readFileSync(join(MODELS, 'cifar10-resnet26.json'), 'utf8')) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>) => () => parseModelCard({ ...good, ...patch }, 'x.json');
  assert.throws(bad({ task: 'detection' }), /x\.json: task must be one of classification, segmentation/);
  assert.throws(bad({ classNames: ['a'] }), /classNames must be 10 strings/);
  assert.throws(bad({ input: { ...(good.input as object), std: [1, 0, 1], mean: [0, 0, 0] } }), /input\.std must be positive/);
  assert.throws(bad({ input: { ...(good.input as object), mean: [0, 0, 0] } }), /input\.mean\/std must be both set/);
  assert.throws(bad({ files: [{ path: 'a.onnx', role: 'model', bytes: 1, sha256: 'zz' }] }), /files\[0\]\.sha256 is not 64 hex/);
  assert.throws(bad({ files: [] }), /files must be a non-empty array/);
  assert.throws(() => parseModelCard([], 'y.json'), /y\.json: \(root\) must be an object/);
});

test('cardPreprocess turns range and mean/std into (x - mean) / std on [0,1]', () => {
  const card = (input: object) => ({ input }) as unknown as ModelCard;
  const pre = cardPreprocess(card({ range: [-1, 1], mean: [0.5, 0, -1], std: [2, 1, 4] }))!;
  // x = 0.25 -> -0.5 on [-1,1]; channel 0: (-0.5 - 0.5) / 2 = -0.5; 1: -0.5; 2: (-0.5 + 1) / 4 = 0.125
  assert.deepEqual([0, 1, 2].map((c) => (0.25 - pre.mean[c]!) / pre.std[c]!), [-0.5, -0.5, 0.125]);
  assert.deepEqual(cardPreprocess(card({ range: [-1, 1], mean: null, std: null })), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.equal(cardPreprocess(card({ range: [0, 1], mean: null, std: null })), undefined);
});

test('cardAccuracy finds entries and names what is missing', async () => {
  const { card } = await loadModelCard('cifar10-resnet26', read, []);
  const a = cardAccuracy(card, 'cifar10-sample', 'top1');
  assert.equal(a.count, 1000);
  assert.equal(a.value, a.correct! / a.count);
  assert.throws(() => cardAccuracy(card, 'nope', 'top1'), /no top1 accuracy for sample "nope"/);
});

interface Reference {
  model: string;
  input: { name: string; shape: number[]; divisor: number; uint8Base64: string };
  output: { name: string; shape: number[]; stride: number[]; sampledShape: number[]; values: number[] };
}

/** Values of a row-major tensor at every stride-th index along each axis. */
function subsample(data: Float32Array, shape: number[], stride: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (axis: number, base: number) => {
    for (let i = 0; i < shape[axis]!; i += stride[axis]!) {
      const at = base + i * strides[axis]!;
      if (axis === shape.length - 1) out.push(data[at]!);
      else walk(axis + 1, at);
    }
  };
  walk(0, 0);
  return out;
}

test('ONNX models reproduce the PyTorch reference logits under onnxruntime-web', async () => {
  ort.env.wasm.numThreads = 1;
  const onnxCards = [];
  for (const name of cardNames) {
    const { card } = await loadModelCard(name, read, []);
    if (card.format === 'onnx') onnxCards.push(card);
  }
  assert.ok(onnxCards.length >= 2, 'CIFAR-10 and CamVid ONNX cards');
  for (const card of onnxCards) {
    const refFile = card.files.find((f) => f.role === 'reference');
    assert.ok(refFile, `${card.name}: no reference file`);
    const ref = JSON.parse(readFileSync(join(MODELS, refFile.path), 'utf8')) as Reference;
    const session = await ort.InferenceSession.create(readFileSync(join(MODELS, ref.model)));
    const pixels = Buffer.from(ref.input.uint8Base64, 'base64');
    const x = Float32Array.from(pixels, (v) => v / ref.input.divisor);
    const out = await session.run({ [ref.input.name]: new ort.Tensor('float32', x, ref.input.shape) });
    const logits = out[ref.output.name]!;
    assert.deepEqual(logits.dims, ref.output.shape);
    const got = subsample(logits.data as Float32Array, ref.output.shape, ref.output.stride);
    assert.equal(got.length, ref.output.values.length);
    let worst = 0;
    got.forEach((v, i) => {
      const want = ref.output.values[i]!;
      worst = Math.max(worst, Math.abs(v - want) / (1 + Math.abs(want)));
    });
    assert.ok(worst < 1e-5, `${card.name}: worst |ort - torch| / (1 + |torch|) = ${worst}`);
    await session.release();
  }
});
