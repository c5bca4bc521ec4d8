/**
 * WGSL versions of the fused TTA kernels for tfjs's webgpu backend: BatchNorm statistics +
 * normalisation, its two backward passes, and softmax entropy with its gradient. Each is a
 * tfjs WebGPU program (compiled once per shape and cached by the backend); scalars travel as
 * uniforms, so no shader is rebuilt when only values change.
 *
 * Reductions use one 64-thread workgroup per channel (strided over rows, then a tree in
 * workgroup memory). Sums are shifted by the first row, as in the host kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { webgpu_util, type WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { BN_FORWARD, BN_GRAD_INPUT, BN_GRAD_PARAMS, CHANNEL_AFFINE, useFusedBatchNorm } from './batch-norm.ts';
import { ENTROPY_FORWARD, ENTROPY_GRAD, useFusedEntropy } from './entropy.ts';
import { AXPY, EMA_UPDATE, STOCHASTIC_RESTORE, hash32, useFusedUpdates } from './multi-tensor.ts';
import { ADAM_UPDATE, type AdamUpdateAttrs } from './adam.ts';
import { SGD_UPDATE, type SgdUpdateAttrs } from './sgd.ts';

type Uniform = { type: 'int32' | 'float32'; data: number[] };
const f32 = (x: number): Uniform => ({ type: 'float32', data: [x] });
const i32 = (x: number): Uniform => ({ type: 'int32', data: [x] });
interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: 'float32', uniforms?: Uniform[]): tf.TensorInfo;
}

const GROUP = 64;

function elementwise(key: string, names: string[], outputShape: number[], uniforms: string, body: string, helpers = ''): WebGPUProgram {
  const dispatchLayout = webgpu_util.flatDispatchLayout(outputShape);
  return {
    shaderKey: key,
    variableNames: names,
    outputShape,
    uniforms,
    size: true,
    workgroupSize: [GROUP, 1, 1],
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, outputShape, [GROUP, 1, 1]),
    getUserCode: () => `
      ${helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

/** One workgroup per channel: accumulates a(r) and b(r) over rows r, then `finish` writes. */
function perChannelSums(key: string, names: string[], channels: number, uniforms: string, terms: string, finish: string): WebGPUProgram {
  const outputShape = [2, channels];
  const dispatchLayout = webgpu_util.flatDispatchLayout([channels]);
  return {
    shaderKey: key,
    variableNames: names,
    outputShape,
    uniforms,
    workgroupSize: [GROUP, 1, 1],
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, [channels], [1, 1, 1]),
    getUserCode: () => `
      var<workgroup> sa : array<f32, ${GROUP}>;
      var<workgroup> sb : array<f32, ${GROUP}>;
      fn main(index : i32) {
        let c = index / ${GROUP};
        let lid = i32(localId.x);
        let C = uniforms.channels;
        let M = uniforms.rows;
        var a = 0.0;
        var b = 0.0;
        if (c < C) {
          for (var r = lid; r < M; r = r + ${GROUP}) {
            let i = r * C + c;
            ${terms}
          }
        }
        sa[lid] = a;
        sb[lid] = b;
        workgroupBarrier();
        for (var s = ${GROUP / 2}; s > 0; s = s / 2) {
          if (lid < s) {
            sa[lid] = sa[lid] + sa[lid + s];
            sb[lid] = sb[lid] + sb[lid + s];
          }
          workgroupBarrier();
        }
        if (lid == 0 && c < C) {
          let A = sa[0];
          let B = sb[0];
          ${finish}
        }
      }`,
  };
}

function sizes(x: tf.TensorInfo): { channels: number; rows: number } {
  const channels = x.shape[x.shape.length - 1]!;
  return { channels, rows: x.shape.reduce((p, d) => p * d, 1) / channels };
}

tf.registerKernel({
  kernelName: BN_FORWARD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
    const { channels, rows } = sizes(x!);
    const u: Uniform[] = [
      { type: 'int32', data: [channels] },
      { type: 'int32', data: [rows] },
      { type: 'float32', data: [(attrs as { epsilon: number }).epsilon] },
    ];
    const statsProgram = perChannelSums(
      'webttaBnStats',
      ['x'],
      channels,
      'channels : i32, rows : i32, eps : f32,',
      'let d = x[i] - x[c]; a = a + d; b = b + d * d;',
      `let dm = A / f32(M);
       setOutputAtIndex(c, x[c] + dm);
       setOutputAtIndex(C + c, inverseSqrt(max(0.0, B / f32(M) - dm * dm) + uniforms.eps));`,
    );
    const stats = b.runWebGPUProgram(statsProgram, [x!], 'float32', u);
    const norm = elementwise(
      'webttaBnNormalise',
      ['x', 'stats', 'scale', 'offset'],
      [...x!.shape],
      'channels : i32,',
      `let c = index % uniforms.channels;
       let a = scale[c] * stats[uniforms.channels + c];
       setOutputAtIndex(index, (x[index] - stats[c]) * a + offset[c]);`,
    );
    const y = b.runWebGPUProgram(norm, [x!, stats, scale!, offset!], 'float32', [u[0]!]);
    return [y, stats];
  },
});

tf.registerKernel({
  kernelName: CHANNEL_AFFINE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { x, scale, shift } = inputs as Record<string, tf.TensorInfo>;
    const { channels } = sizes(x!);
    const program = elementwise('webttaChannelAffine', ['x', 'scale', 'shift'], [...x!.shape], 'channels : i32,', `let c = index % uniforms.channels;
       setOutputAtIndex(index, x[index] * scale[c] + shift[c]);`);
    return b.runWebGPUProgram(program, [x!, scale!, shift!], 'float32', [{ type: 'int32', data: [channels] }]);
  },
});

tf.registerKernel({
  kernelName: BN_GRAD_PARAMS,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { dy, x, stats } = inputs as Record<string, tf.TensorInfo>;
    const { channels, rows } = sizes(x!);
    const program = perChannelSums(
      'webttaBnGradParams',
      ['dy', 'x', 'stats'],
      channels,
      'channels : i32, rows : i32,',
      'let g = dy[i]; b = b + g; a = a + g * (x[i] - stats[c]);',
      `setOutputAtIndex(c, A * stats[C + c]);
       setOutputAtIndex(C + c, B);`,
    );
    return b.runWebGPUProgram(program, [dy!, x!, stats!], 'float32', [
      { type: 'int32', data: [channels] },
      { type: 'int32', data: [rows] },
    ]);
  },
});

tf.registerKernel({
  kernelName: BN_GRAD_INPUT,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { dy, x, stats, scale, grads } = inputs as Record<string, tf.TensorInfo>;
    const { channels, rows } = sizes(x!);
    const program = elementwise(
      'webttaBnGradInput',
      ['dy', 'x', 'stats', 'scale', 'grads'],
      [...x!.shape],
      'channels : i32, rows : i32,',
      `let C = uniforms.channels;
       let c = index % C;
       let inv = stats[C + c];
       let xhat = (x[index] - stats[c]) * inv;
       let m = f32(uniforms.rows);
       setOutputAtIndex(index, scale[c] * inv * (dy[index] - grads[C + c] / m - xhat * grads[c] / m));`,
    );
    return b.runWebGPUProgram(program, [dy!, x!, stats!, scale!, grads!], 'float32', [
      { type: 'int32', data: [channels] },
      { type: 'int32', data: [rows] },
    ]);
  },
});

tf.registerKernel({
  kernelName: ENTROPY_FORWARD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { logits } = inputs as Record<string, tf.TensorInfo>;
    const k = logits!.shape[logits!.shape.length - 1]!;
    const rows = logits!.shape.slice(0, -1);
    // One thread per row; `which` picks the output (entropy or log-sum-exp): rows are short.
    const program = elementwise(
      'webttaEntropy',
      ['z'],
      rows.length ? rows : [1],
      'k : i32, which : i32,',
      `let o = index * uniforms.k;
       var mx = z[o];
       for (var j = 1; j < uniforms.k; j = j + 1) { mx = max(mx, z[o + j]); }
       var sum = 0.0;
       var dot = 0.0;
       for (var j = 0; j < uniforms.k; j = j + 1) {
         let e = exp(z[o + j] - mx);
         sum = sum + e;
         dot = dot + e * z[o + j];
       }
       let lse = mx + log(sum);
       setOutputAtIndex(index, select(lse - dot / sum, lse, uniforms.which == 1));`,
    );
    const run = (which: number) => {
      const out = b.runWebGPUProgram(program, [logits!], 'float32', [
        { type: 'int32', data: [k] },
        { type: 'int32', data: [which] },
      ]);
      return { ...out, shape: rows };
    };
    return [run(0), run(1)];
  },
});

tf.registerKernel({
  kernelName: ENTROPY_GRAD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { dy, logits, entropy, lse } = inputs as Record<string, tf.TensorInfo>;
    const k = logits!.shape[logits!.shape.length - 1]!;
    const program = elementwise(
      'webttaEntropyGrad',
      ['dy', 'z', 'h', 'lse'],
      [...logits!.shape],
      'k : i32,',
      `let r = index / uniforms.k;
       let logp = z[index] - lse[r];
       setOutputAtIndex(index, -dy[r] * exp(logp) * (logp + h[r]));`,
    );
    return b.runWebGPUProgram(program, [dy!, logits!, entropy!, lse!], 'float32', [{ type: 'int32', data: [k] }]);
  },
});

tf.registerKernel({
  kernelName: EMA_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const m = (attrs as { momentum: number }).momentum;
    const n = Object.keys(inputs).length / 2;
    return Array.from({ length: n }, (_, i) => {
      const t = inputs[`t${i}`]!;
      const program = elementwise('webttaEma', ['t', 's'], [...t.shape], 'm : f32,', 'setOutputAtIndex(index, uniforms.m * t[index] + (1.0 - uniforms.m) * s[index]);');
      return b.runWebGPUProgram(program, [t, inputs[`s${i}`]!], 'float32', [{ type: 'float32', data: [m] }]);
    });
  },
});

tf.registerKernel({
  kernelName: AXPY,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { w, g, scale } = inputs as Record<string, tf.TensorInfo>;
    const program = elementwise('webttaAxpy', ['w', 'g', 'scale'], [...w!.shape], '', 'setOutputAtIndex(index, w[index] + g[index] * scale[0]);');
    return b.runWebGPUProgram(program, [w!, g!, scale!], 'float32');
  },
});

tf.registerKernel({
  kernelName: STOCHASTIC_RESTORE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const { p, seed } = attrs as { p: number; seed: number };
    const { w, source } = inputs as Record<string, tf.TensorInfo>;
    // Same hash as multi-tensor.ts's hash32, in u32 arithmetic (wrapping multiplies).
    const program = elementwise(
      'webttaStochasticRestore',
      ['w', 'src'],
      [...w!.shape],
      'seed : i32, p : f32,',
      `let u = f32(hash32(bitcast<u32>(uniforms.seed) + u32(index)) >> 8u) / 16777216.0;
       setOutputAtIndex(index, select(w[index], src[index], u < uniforms.p));`,
      `fn hash32(v : u32) -> u32 {
         let state = v * 747796405u + 2891336453u;
         let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
         return (word >> 22u) ^ word;
       }`,
    );
    return b.runWebGPUProgram(program, [w!, source!], 'float32', [
      { type: 'int32', data: [hash32(seed) | 0] },
      { type: 'float32', data: [p] },
    ]);
  },
});

// Adam (adam.ts) as three elementwise programs: first moment, second moment, parameter;
// SGD (sgd.ts) as one or two: momentum buffer, parameter. wd = 0 skips the decay term (as the
// stock path does: 0 * inf would be NaN).
const DECAYED_GRAD = 'select(g[index], g[index] + p[index] * uniforms.wd, uniforms.wd != 0.0)';
tf.registerKernel({
  kernelName: ADAM_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const a = attrs as unknown as AdamUpdateAttrs;
    const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
    const shape = [...p!.shape];
    const moment = (key: string, body: string) => elementwise(key, ['p', 'g', 'x'], shape, 'wd : f32, beta : f32, oneMinusBeta : f32,', `let gw = ${DECAYED_GRAD};\n${body}`);
    const decayed = (beta: number) => [f32(a.weightDecay), f32(beta), f32(1 - beta)];
    const mNew = b.runWebGPUProgram(moment('webttaAdamM', 'setOutputAtIndex(index, x[index] * uniforms.beta + gw * uniforms.oneMinusBeta);'), [p!, g!, m!], 'float32', decayed(a.beta1));
    const vNew = b.runWebGPUProgram(moment('webttaAdamV', 'setOutputAtIndex(index, x[index] * uniforms.beta + (gw * gw) * uniforms.oneMinusBeta);'), [p!, g!, v!], 'float32', decayed(a.beta2));
    const param = elementwise('webttaAdamP', ['p', 'm', 'v'], shape, 'stepSize : f32, bc2Sqrt : f32, eps : f32,', 'setOutputAtIndex(index, p[index] - (m[index] / (sqrt(v[index]) / uniforms.bc2Sqrt + uniforms.eps)) * uniforms.stepSize);');
    const pNew = b.runWebGPUProgram(param, [p!, mNew, vNew], 'float32', [f32(a.stepSize), f32(a.bc2Sqrt), f32(a.eps)]);
    return [pNew, mNew, vNew];
  },
});

tf.registerKernel({
  kernelName: SGD_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WebGPUBackendLike;
    const a = attrs as unknown as SgdUpdateAttrs;
    const { p, g, buf } = inputs as Record<string, tf.TensorInfo>;
    const shape = [...p!.shape];
    if (a.momentum === 0) {
      const plain = elementwise('webttaSgdP', ['p', 'g'], shape, 'wd : f32, lr : f32,', `setOutputAtIndex(index, p[index] - ${DECAYED_GRAD} * uniforms.lr);`);
      return [b.runWebGPUProgram(plain, [p!, g!], 'float32', [f32(a.weightDecay), f32(a.lr)])];
    }
    const bufProgram = elementwise('webttaSgdBuf', ['p', 'g', 'b'], shape, 'wd : f32, mom : f32, oneMinusDamp : f32, first : i32,',
      `let d = ${DECAYED_GRAD};
       setOutputAtIndex(index, select(b[index] * uniforms.mom + d * uniforms.oneMinusDamp, d, uniforms.first != 0));`);
    const bufNew = b.runWebGPUProgram(bufProgram, [p!, g!, buf!], 'float32', [f32(a.weightDecay), f32(a.momentum), f32(1 - a.dampening), i32(a.first ? 1 : 0)]);
    const paramProgram = elementwise('webttaSgdMomP', ['p', 'g', 'b'], shape, 'wd : f32, mom : f32, lr : f32, nesterov : i32,',
      `let d = select(b[index], ${DECAYED_GRAD} + b[index] * uniforms.mom, uniforms.nesterov != 0);
       setOutputAtIndex(index, p[index] - d * uniforms.lr);`);
    const pNew = b.runWebGPUProgram(paramProgram, [p!, g!, bufNew], 'float32', [f32(a.weightDecay), f32(a.momentum), f32(a.lr), i32(a.nesterov ? 1 : 0)]);
    return [pNew, bufNew];
  },
});

/**
 * tfjs's webgpu AddN binds all its inputs and its output as storage buffers of one shader, but
 * a WebGPU device allows only maxStorageBuffersPerShaderStage of them (8 unless more are
 * requested, and tfjs requests no more). With more inputs the pipeline is invalid, and so is
 * the whole batched command buffer it is recorded into: the queue drops it at submission with
 * nothing but a console warning, and every kernel batched with the AddN (up to
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE of them) leaves its output buffer unwritten, holding stale
 * pool contents. A global norm over a model's parameters (SAM's perturbation, finiteness flags)
 * is such a sum. Sum in groups that fit, then the partial sums, as tfjs's own Concat splits
 * its inputs.
 */
const stockAddN = tf.getKernel(tf.AddN, 'webgpu');
if (!stockAddN) throw new Error('tfjs-backend-webgpu registered no AddN kernel');
interface WebGPUDeviceBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): boolean;
}
const addNInGroups: tf.KernelFunc = (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const b = args.backend as unknown as WebGPUDeviceBackend;
  const group = Math.max(2, b.device.limits.maxStorageBuffersPerShaderStage - 1);
  if (inputs.length <= group) return stockAddN.kernelFunc(args);
  const partials: tf.TensorInfo[] = [];
  for (let i = 0; i < inputs.length; i += group) {
    partials.push(addNInGroups({ ...args, inputs: inputs.slice(i, i + group) as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo);
  }
  const sum = addNInGroups({ ...args, inputs: partials as unknown as tf.NamedTensorInfoMap });
  for (const p of partials) b.disposeData(p.dataId);
  return sum;
};
tf.unregisterKernel(tf.AddN, 'webgpu');
tf.registerKernel({ ...stockAddN, kernelFunc: addNInGroups });

useFusedBatchNorm('webgpu', true);
useFusedUpdates('webgpu', true);
useFusedEntropy('webgpu', true);
