// Our ONNX runtime vs PyTorch reference outputs (models/fixtures, written by make_fixtures.py).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadOnnxModel } from '../index.ts';
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
