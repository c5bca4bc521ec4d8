// Our ONNX runtime vs PyTorch reference outputs (models/fixtures, written by make_fixtures.py).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { loadOnnxModel } from '../index.ts';
import { decodeOnnx } from './decode.ts';
import { fixtureBytes, fixtureReference } from '../testing/node-fixtures.ts';
import { maxAbsDiff, nchwToNhwc, type RefTensor } from '../testing/reference.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const asNhwc = (t: RefTensor) => (t.dims.length === 4 ? nchwToNhwc(t) : t);

const cases = [
  { name: 'resnet-tiny', task: 'classification', classes: 10, stages: '000111222' },
  { name: 'segmenter-tiny', task: 'segmentation', classes: 5, stages: '01234' },
  { name: 'ops-opset11', task: 'classification', classes: 4, stages: '0' },
  { name: 'ops-opset13', task: 'classification', classes: 4, stages: '0' },
  { name: 'ops-opset17', task: 'classification', classes: 4, stages: '0' },
  { name: 'autopad', task: 'classification', classes: 3, stages: '' },
  { name: 'smooth-tiny', task: 'classification', classes: 3, stages: '01' },
  { name: 'resize-modes', task: 'segmentation', classes: 3, stages: '' },
  { name: 'ops-opset18', task: 'classification', classes: 4, stages: '0' },
  { name: 'upsample-opset8', task: 'segmentation', classes: 3, stages: '' },
  { name: 'upsample-opset9', task: 'segmentation', classes: 3, stages: '' },
];

for (const c of cases) {
  test(`${c.name}: logits match PyTorch (running and batch statistics)`, async () => {
    const ref = fixtureReference(c.name);
    const model = await loadOnnxModel(fixtureBytes(c.name), { name: c.name });
    assert.equal(model.info.task, c.task);
    assert.equal(model.info.numClasses, c.classes);
    assert.equal(model.norms.map((n) => n.stage).join(''), c.stages);
    const x = asNhwc(ref.input);
    const input = tf.tensor4d(x.data, x.dims as [number, number, number, number]);
    const want = asNhwc(ref.eval);
    const { logits } = model.forward(input);
    assert.deepEqual(logits.shape, want.dims);
    const scale = Math.max(...Array.from(want.data, Math.abs));
    assert.ok(scale > 0.05, `reference output is not trivially small (${scale})`);
    assert.ok(maxAbsDiff(await logits.data(), want.data) < 1e-4);
    logits.dispose();
    if (ref.batch) {
      model.setNormMode({ kind: 'batch' });
      const batch = model.forward(input).logits;
      const err = maxAbsDiff(await batch.data(), asNhwc(ref.batch).data);
      assert.ok(err < 1e-4, `batch-statistics error ${err}`);
      // The modes really differ on these fixtures (random running statistics).
      assert.ok(maxAbsDiff(asNhwc(ref.batch).data, want.data) > 1e-2);
      batch.dispose();
    }
    input.dispose();
    model.dispose();
  });
}

test('ops-opset18 and upsample-opset8/9 hold the forms they are there to cover', () => {
  const g18 = decodeOnnx(fixtureBytes('ops-opset18'));
  assert.equal(g18.opset, 18);
  const reduce = g18.nodes.filter((n) => n.opType === 'ReduceMean');
  assert.equal(reduce.length, 2);
  assert.ok(reduce.every((n) => n.inputs[1] && !n.attrs.has('axes')), 'ReduceMean-18 takes axes as an input');
  assert.equal(g18.nodes.filter((n) => n.opType === 'Pad' && n.inputs[3]).length, 2, 'two Pads with an axes input');
  for (const opset of [8, 9]) {
    const g = decodeOnnx(fixtureBytes(`upsample-opset${opset}`));
    assert.equal(g.opset, opset);
    const up = g.nodes.filter((n) => n.opType === 'Upsample');
    assert.deepEqual(up.map((n) => n.attrs.get('mode')), ['nearest', 'linear']);
    // Upsample-7 has scales as an attribute, Upsample-9 as an input.
    assert.ok(up.every((n) => (opset < 9 ? n.attrs.has('scales') : n.inputs[1] === 'scales')));
    assert.equal(g.nodes.filter((n) => n.opType === 'Identity').length, 2);
  }
});

// Fixtures written or edited by hand rather than by torch.onnx.export: onnxruntime-web must
// reproduce the PyTorch reference too, or the graph (not our runtime) would be wrong.
test('hand-made fixtures: onnxruntime-web reproduces the PyTorch reference', async () => {
  ort.env.wasm.numThreads = 1;
  for (const name of ['autopad', 'ops-opset18', 'upsample-opset8', 'upsample-opset9']) {
    const ref = fixtureReference(name);
    const session = await ort.InferenceSession.create(fixtureBytes(name));
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', ref.input.data, ref.input.dims) });
    const y = out[session.outputNames[0]!]!;
    assert.deepEqual(y.dims, ref.eval.dims);
    const err = maxAbsDiff(y.data as Float32Array, ref.eval.data);
    assert.ok(err < 1e-5, `${name}: max |ort - torch| ${err}`);
    await session.release();
  }
});
