// Browser parity: our tfjs runtime vs onnxruntime-web (wasm EP) vs PyTorch on the fixtures.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { loadOnnxModel } from '../../src/model/index.ts';
import { maxAbsDiff, nchwToNhwc, parseReference } from '../../src/model/testing/reference.ts';
import { initBackend, type BackendChoice } from '../../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../../src/runtime/wasm-paths.ts';

async function fixture(name: string) {
  const [bytes, json] = await Promise.all([
    fetch(`/models/fixtures/${name}.onnx`).then((r) => r.arrayBuffer()),
    fetch(`/models/fixtures/${name}.json`).then((r) => r.text()),
  ]);
  return { bytes: new Uint8Array(bytes), ref: parseReference(json) };
}

/** ORT output, as NHWC when 4-D (our layout). */
async function ortOutput(bytes: Uint8Array, input: { dims: number[]; data: Float32Array }): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) });
  const t = out[session.outputNames[0]!]!;
  await session.release();
  const data = t.data as Float32Array;
  return t.dims.length === 4 ? nchwToNhwc({ dims: [...t.dims], data }).data : data;
}

export async function parity(backend: BackendChoice, name: string) {
  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const { bytes, ref } = await fixture(name);
  const model = await loadOnnxModel(bytes, { name });
  const x = nchwToNhwc(ref.input);
  const input = tf.tensor4d(x.data, x.dims as [number, number, number, number]);
  const before = tf.memory().numTensors;
  const logits = model.forward(input).logits;
  const ours = (await logits.data()) as Float32Array;
  logits.dispose();
  const leaked = tf.memory().numTensors - before;
  const fromOrt = await ortOutput(bytes, ref.input);
  const torch = ref.eval.dims.length === 4 ? nchwToNhwc(ref.eval).data : ref.eval.data;
  input.dispose();
  model.dispose();
  return {
    backend: info.backend,
    vsOrt: maxAbsDiff(ours, fromOrt),
    vsTorch: maxAbsDiff(ours, torch),
    ortVsTorch: maxAbsDiff(fromOrt, torch),
    size: ours.length,
    leaked,
  };
}
