// Custom kernels in the browser: fused ops on a chosen backend vs the same maths from stock
// tfjs ops on the cpu backend (webgpu runs on SwiftShader here: correctness only).
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, channelAffine, emaUpdateFused, hasFusedUpdates, paddedConv, samPerturbFused, softmaxEntropyFused, stochasticRestoreFused } from '../../src/kernels/index.ts';
import { Adam, Sgd } from '../../src/methods/shared/optim.ts';
import { bnSimd } from '../../src/kernels/batch-norm-simd.ts';
import { initBackend, type BackendName } from '../../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../../src/runtime/wasm-paths.ts';

type Inputs = Record<string, tf.Tensor>;
type Outputs = Record<string, tf.Tensor>;

function makeInputs(): Inputs {
  const u = (shape: number[], seed: number, lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed);
  return {
    // 80 channels and 189 rows: more rows than one 64-thread workgroup, channels not a multiple of 64.
    x: tf.add(u([3, 9, 7, 80], 1), 2),
    scale: u([80], 2, 0.5, 1.5),
    offset: u([80], 3),
    r: u([3, 9, 7, 80], 4),
    z: tf.mul(u([37, 10], 5), 4),
    w: u([37], 6),
    xc: u([2, 9, 8, 3], 7),
    wc: u([3, 3, 3, 5], 8),
    rc: u([2, 4, 4, 5], 9),
  };
}

interface Ops {
  bn(x: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor;
  affine(x: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor;
  entropy(z: tf.Tensor): tf.Tensor;
  /** Stride 2, pads top 1, bottom 0, left 0, right 1. */
  conv(x: tf.Tensor, w: tf.Tensor): tf.Tensor;
}

const fusedOps: Ops = {
  bn: (x, s, o) => batchNormTrain(x, s as tf.Tensor1D, o as tf.Tensor1D, 1e-5).y,
  affine: (x, s, o) => channelAffine(x, s as tf.Tensor1D, o as tf.Tensor1D),
  entropy: (z) => softmaxEntropyFused(z),
  conv: (x, w) => paddedConv(x as tf.Tensor4D, w as tf.Tensor4D, { strides: [2, 2], dilations: [1, 1], pads: [1, 0, 0, 1] }),
};

const stockOps: Ops = {
  bn: (x, s, o) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), s), o);
  },
  affine: (x, s, o) => tf.add(tf.mul(x, s), o),
  entropy: (z) => {
    const logp = tf.logSoftmax(z, -1);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
  },
  conv: (x, w) => tf.conv2d(tf.pad(x as tf.Tensor4D, [[0, 0], [1, 0], [0, 1], [0, 0]]), w as tf.Tensor4D, 2, 'valid'),
};

function evaluate(ops: Ops, i: Inputs): Outputs {
  return tf.tidy(() => {
    const bnLoss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(ops.bn(a, b, c), i.r!));
    const [bnDx, bnDscale, bnDoffset] = tf.grads(bnLoss)([i.x!, i.scale!, i.offset!]);
    const [convDx, convDw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ops.conv(a, b), i.rc!)))([i.xc!, i.wc!]);
    return {
      bnForward: ops.bn(i.x!, i.scale!, i.offset!),
      affine: ops.affine(i.x!, i.scale!, i.offset!),
      bnDx: bnDx!,
      bnDscale: bnDscale!,
      bnDoffset: bnDoffset!,
      entropy: ops.entropy(i.z!),
      entropyGrad: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(ops.entropy(a), i.w!)))(i.z!),
      convForward: ops.conv(i.xc!, i.wc!),
      convDx: convDx!,
      convDw: convDw!,
    };
  });
}

async function read(outs: Outputs): Promise<Record<string, Float32Array>> {
  const r: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(outs)) r[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(outs));
  return r;
}

/** Relative L2 errors of every fused op and gradient on `backend` vs stock ops on cpu; tensor count across a repeat. */
export async function compareOn(backend: BackendName) {
  await initBackend('cpu');
  const inputs = makeInputs();
  const reference = await read(evaluate(stockOps, inputs));
  const values = Object.fromEntries(await Promise.all(Object.entries(inputs).map(async ([k, t]) => [k, { data: await t.data(), shape: t.shape }] as const)));
  tf.dispose(Object.values(inputs));

  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const onTarget: Inputs = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, tf.tensor(v.data as Float32Array, v.shape)]));
  const ours = await read(evaluate(fusedOps, onTarget));
  const before = tf.memory().numTensors;
  await read(evaluate(fusedOps, onTarget));
  const tensorGrowth = tf.memory().numTensors - before;
  tf.dispose(Object.values(onTarget));

  const errors: Record<string, number> = {};
  for (const [k, ref] of Object.entries(reference)) {
    const got = ours[k]!;
    let d = 0;
    let n = 0;
    for (let j = 0; j < ref.length; j++) {
      d += (got[j]! - ref[j]!) ** 2;
      n += ref[j]! ** 2;
    }
    errors[k] = got.length === ref.length ? Math.sqrt(d / n) : Infinity;
  }
  // Whether BatchNorm ran as WebAssembly SIMD on the (shared, when threaded) wasm heap.
  const simdBatchNorm = bnSimd(tf.backend()) !== undefined;
  return { backend: info.backend, adapter: info.adapter?.description ?? '', errors, tensorGrowth, simdBatchNorm, wasmThreads: info.wasmThreads };
}

/** EMA, SAM perturbation and stochastic restore on `backend`, from the same seeded values. */
export async function updatesOn(backend: BackendName) {
  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const u = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
  const teacher = [tf.variable(u([3, 3, 4, 8], 1)), tf.variable(u([300], 2))];
  const student = [u([3, 3, 4, 8], 3), u([300], 4)];
  emaUpdateFused(teacher, student, 0.99);
  const ema = await Promise.all(teacher.map(async (t) => Array.from(await t.data())));
  samPerturbFused(teacher, student, 0.05);
  const sam = await Promise.all(teacher.map(async (t) => Array.from(await t.data())));
  stochasticRestoreFused(teacher, student, 0.25, 17);
  const restore = await Promise.all(teacher.map(async (t) => Array.from(await t.data())));
  // Three Adam steps with weight decay: the fused kernel where the backend has it (wasm,
  // webgpu), the stock ops on cpu.
  const adam = new Adam(teacher, { lr: 0.05, betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1 });
  for (let t = 0; t < 3; t++) adam.step(student.map((g) => tf.mul(g, t + 1)));
  const adamParams = await Promise.all(teacher.map(async (t) => Array.from(await t.data())));
  adam.dispose();
  // And SGD: momentum with dampening and weight decay, then Nesterov, three steps each.
  for (const opts of [{ lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, { lr: 0.01, momentum: 0.9, nesterov: true }]) {
    const sgd = new Sgd(teacher, opts);
    for (let t = 0; t < 3; t++) sgd.step(student.map((g) => tf.mul(g, t + 1)));
    sgd.dispose();
  }
  const sgdParams = await Promise.all(teacher.map(async (t) => Array.from(await t.data())));
  tf.dispose([...teacher, ...student]);
  return { backend: info.backend, fusedUpdates: hasFusedUpdates(info.backend), ema, sam, restore, adam: adamParams, sgd: sgdParams };
}

interface ErrorScopeDevice {
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

/**
 * Sums and a SAM perturbation over more tensors than a WebGPU shader stage may bind as storage
 * buffers (8 by default): tf.addN of 20 tensors, samPerturbFused over 12 (its global norm is an
 * AddN of 12 scalars). On webgpu, also the validation errors raised meanwhile: an over-limit
 * AddN invalidates its whole batched command buffer, which the queue then drops silently.
 */
export async function manyInputsOn(backend: BackendName) {
  const info = await initBackend(backend, { wasmPaths: TFJS_WASM_PATHS });
  const device = backend === 'webgpu' ? (tf.backend() as unknown as { device: ErrorScopeDevice }).device : undefined;
  device?.pushErrorScope('validation');
  const u = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
  const terms = Array.from({ length: 20 }, (_, i) => u([3, 5], 100 + i));
  const sum = tf.addN(terms);
  const vars = Array.from({ length: 12 }, (_, i) => tf.variable(u([4 + i], 200 + i)));
  const grads = vars.map((v, i) => u(v.shape, 300 + i));
  samPerturbFused(vars, grads, 0.05);
  const result = {
    backend: info.backend,
    sum: Array.from(await sum.data()),
    sam: await Promise.all(vars.map(async (v) => Array.from(await v.data()))),
    validationError: device ? ((await device.popErrorScope())?.message ?? null) : null,
  };
  tf.dispose([...terms, sum, ...vars, ...grads]);
  return result;
}
