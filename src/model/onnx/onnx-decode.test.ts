// Malformed or unsupported ONNX files fail at load with an Error naming the problem.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadOnnxModel } from '../index.ts';
import { fixtureBytes } from '../testing/node-fixtures.ts';
import { ModelProto, type AttributeProtoMsg, type ModelProtoMsg } from './schema.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** Decode a fixture, let `edit` change it, encode it again. */
function edited(name: string, edit: (m: ModelProtoMsg) => void): Uint8Array {
  const msg = ModelProto.decode(fixtureBytes(name));
  edit(msg as unknown as ModelProtoMsg);
  return ModelProto.encode(msg).finish();
}

test('re-encoding an unedited fixture still loads (the edit helper itself is sound)', async () => {
  const m = await loadOnnxModel(edited('resnet-tiny', () => {}), { name: 'same' });
  assert.equal(m.info.numClasses, 10);
  m.dispose();
});

test('truncated file', async () => {
  const bytes = fixtureBytes('resnet-tiny');
  await assert.rejects(loadOnnxModel(bytes.slice(0, bytes.length >> 1), { name: 'cut.onnx' }), /cut\.onnx: malformed ONNX file/);
});

test('not an ONNX file at all', async () => {
  await assert.rejects(loadOnnxModel(new TextEncoder().encode('{"format": "layers-model"}'), { name: 'x.onnx' }), /x\.onnx: malformed ONNX file/);
});

test('unsupported op names op type and node', async () => {
  const bytes = edited('resnet-tiny', (m) => {
    const relu = m.graph!.node.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Celu';
    relu.name = 'my_celu';
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 'r.onnx' }), /r\.onnx: unsupported op 'Celu' at node 'my_celu'/);
});

test('missing initializer names node and input', async () => {
  const bytes = edited('resnet-tiny', (m) => {
    m.graph!.initializer = m.graph!.initializer.filter((t) => t.name !== 'conv1.weight');
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 'r.onnx' }), /Conv node '\/conv1\/Conv' input 1 'conv1.weight' is not produced by any earlier node, initializer or graph input/);
});

test('initializer whose data does not fill its dims', async () => {
  const bytes = edited('resnet-tiny', (m) => {
    const t = m.graph!.initializer.find((x) => x.name === 'fc.bias')!;
    t.rawData = t.rawData.slice(0, 8);
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 'r.onnx' }), /initializer fc\.bias: holds 2 values but dims \[10\] need 10/);
});

test('unsupported attribute value fails at load, naming the node', async () => {
  const bytes = edited('segmenter-tiny', (m) => {
    const resize = m.graph!.node.find((n) => n.opType === 'Resize')!;
    resize.attribute.find((a) => a.name === 'mode')!.s = new TextEncoder().encode('cubic');
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 's.onnx' }), /Resize node '[^']+': mode 'cubic' is not supported/);
});

test('Resize-18 antialias and keep_aspect_ratio_policy fail at load instead of being ignored', async () => {
  const withAttr = (attr: object) =>
    edited('segmenter-tiny', (m) => {
      m.opsetImport[0]!.version = 18;
      m.graph!.node.find((n) => n.opType === 'Resize')!.attribute.push(attr as AttributeProtoMsg);
    });
  // Unedited apart from the opset, the graph loads: the errors below come from the attributes.
  (await loadOnnxModel(withAttr({ name: 'antialias', type: 2, i: 0 }), { name: 's.onnx' })).dispose();
  await assert.rejects(loadOnnxModel(withAttr({ name: 'antialias', type: 2, i: 1 }), { name: 's.onnx' }), /Resize node '[^']+': attribute antialias=1 is not supported/);
  const policy = { name: 'keep_aspect_ratio_policy', type: 3, s: new TextEncoder().encode('not_larger') };
  await assert.rejects(loadOnnxModel(withAttr(policy), { name: 's.onnx' }), /Resize node '[^']+': attribute keep_aspect_ratio_policy 'not_larger' is not supported/);
});

test('BatchNormalization with training_mode=1 or spatial=0 fails at load', async () => {
  const withAttr = (attr: object) =>
    edited('resnet-tiny', (m) => {
      m.graph!.node.find((n) => n.opType === 'BatchNormalization')!.attribute.push(attr as AttributeProtoMsg);
    });
  (await loadOnnxModel(withAttr({ name: 'training_mode', type: 2, i: 0 }), { name: 'r.onnx' })).dispose();
  await assert.rejects(
    loadOnnxModel(withAttr({ name: 'training_mode', type: 2, i: 1 }), { name: 'r.onnx' }),
    /r\.onnx: BatchNormalization node '[^']+': attribute training_mode=1 is not supported/,
  );
  await assert.rejects(loadOnnxModel(withAttr({ name: 'spatial', type: 2, i: 0 }), { name: 'r.onnx' }), /BatchNormalization node '[^']+': attribute spatial=0 is not supported/);
});

test('BatchNormalization whose statistics are not initializers', async () => {
  const bytes = edited('resnet-tiny', (m) => {
    const bn = m.graph!.node.find((n) => n.opType === 'BatchNormalization')!;
    bn.input[3] = bn.input[0]!;
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 'r.onnx' }), /BatchNormalization node '[^']+' input_mean must be a float initializer/);
});

test('unsupported opset', async () => {
  const bytes = edited('resnet-tiny', (m) => {
    m.opsetImport[0]!.version = 5;
  });
  await assert.rejects(loadOnnxModel(bytes, { name: 'r.onnx' }), /r\.onnx: opset 5 is not supported/);
});

test('typed data fields (float_data, int64_data) load exactly like raw_data', async () => {
  const x = tf.randomUniform([2, 20, 18, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const original = await loadOnnxModel(fixtureBytes('ops-opset13'), { name: 'raw' });
  const bytes = edited('ops-opset13', (m) => {
    const toTyped = (t: { dataType: number; rawData: Uint8Array; floatData: number[]; int64Data: unknown[] }) => {
      const buf = new Uint8Array(t.rawData).buffer;
      if (t.dataType === 1) t.floatData = Array.from(new Float32Array(buf));
      else if (t.dataType === 7) t.int64Data = Array.from(new BigInt64Array(buf), Number);
      else return;
      t.rawData = new Uint8Array(0);
    };
    m.graph!.initializer.forEach(toTyped);
    for (const n of m.graph!.node) for (const a of n.attribute) if (a.t) toTyped(a.t);
  });
  const typed = await loadOnnxModel(bytes, { name: 'typed' });
  const a = original.forward(x).logits;
  const b = typed.forward(x).logits;
  assert.deepEqual(Array.from(await b.data()), Array.from(await a.data()));
  tf.dispose([x, a, b]);
  original.dispose();
  typed.dispose();
});
