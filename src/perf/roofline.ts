/**
 * What one core can do in WebAssembly on this machine, next to what our convolutions get and
 * what PyTorch gets on the same shapes (issue #8: why a wasm Tent step trails PyTorch):
 *   node --import tsx src/perf/roofline.ts
 * 1. The 128-bit SIMD peak: a WebAssembly loop of 12 independent f32x4 multiply-then-add
 *    chains (wasm SIMD has no fused multiply-add), 8 flops per chain and iteration.
 * 2. tfjs-wasm (XNNPACK, SIMD; one thread, as Node's tfjs-wasm build has no threads): a
 *    matMul and the three 3x3 conv shapes of the shipped ResNet-26 at batch 64.
 * 3. PyTorch CPU, one thread, fp32, the same shapes (when /usr/bin/python3 has torch).
 * GFLOP/s count a multiply-add as two flops. Medians of timed repeats.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import wabt from 'wabt';

const CHAINS = 12;

function peakWat(): string {
  const locals = Array.from({ length: CHAINS }, (_, i) => `(local $v${i} v128)`).join(' ');
  const body = Array.from({ length: CHAINS }, (_, i) => `(local.set $v${i} (f32x4.add (f32x4.mul (local.get $v${i}) (local.get $a)) (local.get $b)))`).join('\n');
  const sum = Array.from({ length: CHAINS - 1 }, () => '(f32x4.add').join(' ') + ' (local.get $v0) ' + Array.from({ length: CHAINS - 1 }, (_, i) => `(local.get $v${i + 1}))`).join(' ');
  return `(module (func (export "peak") (param $n i32) (result f32) (local $a v128) (local $b v128) ${locals}
    (local.set $a (f32x4.splat (f32.const 0.999))) (local.set $b (f32x4.splat (f32.const 0.001)))
    (loop $l ${body}
      (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (f32x4.extract_lane 0 ${sum})))`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function simdPeak(): Promise<number> {
  const bin = (await wabt()).parseWat('peak.wat', peakWat()).toBinary({}).buffer;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bin)));
  const peak = instance.exports.peak as (n: number) => number;
  const iters = 20_000_000;
  peak(iters / 10);
  const gflops: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    peak(iters);
    gflops.push((iters * CHAINS * 8) / ((performance.now() - t0) * 1e6));
  }
  return median(gflops);
}

interface Shape {
  name: string;
  flops: number;
  run(): tf.Tensor;
}

const CONVS = [
  { name: 'conv 3x3 16->16, 64x32x32', n: 64, hw: 32, c: 16 },
  { name: 'conv 3x3 32->32, 64x16x16', n: 64, hw: 16, c: 32 },
  { name: 'conv 3x3 64->64, 64x8x8', n: 64, hw: 8, c: 64 },
];
const MATMUL = { m: 4096, k: 576, n: 64 }; // the im2col product of the 64-channel conv

function shapes(): Shape[] {
  const a = tf.randomNormal([MATMUL.m, MATMUL.k]);
  const b = tf.randomNormal([MATMUL.k, MATMUL.n]);
  const out: Shape[] = [{ name: `matMul ${MATMUL.m}x${MATMUL.k} * ${MATMUL.k}x${MATMUL.n}`, flops: 2 * MATMUL.m * MATMUL.k * MATMUL.n, run: () => tf.matMul(a, b) }];
  for (const c of CONVS) {
    const x = tf.randomNormal([c.n, c.hw, c.hw, c.c]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c.c, c.c]) as tf.Tensor4D;
    out.push({ name: c.name, flops: 2 * c.n * c.hw * c.hw * c.c * c.c * 9, run: () => tf.conv2d(x, w, 1, 'same') });
  }
  return out;
}

function timeGflops(s: Shape): number {
  s.run().dispose();
  const g: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    const y = s.run();
    y.dataSync();
    g.push(s.flops / ((performance.now() - t0) * 1e6));
    y.dispose();
  }
  return median(g);
}

const TORCH = `
import json, time, torch, torch.nn.functional as F
torch.set_num_threads(1)
def med(f):
    f(); ts = []
    for _ in range(7):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return sorted(ts)[3]
m, k, n = ${MATMUL.m}, ${MATMUL.k}, ${MATMUL.n}
a, b = torch.randn(m, k), torch.randn(k, n)
res = [2 * m * k * n / med(lambda: a @ b) / 1e9]
for bn, hw, c in ${JSON.stringify(CONVS.map((c) => [c.n, c.hw, c.c]))}:
    x, w = torch.randn(bn, c, hw, hw), torch.randn(c, c, 3, 3)
    with torch.no_grad():
        res.append(2 * bn * hw * hw * c * c * 9 / med(lambda: F.conv2d(x, w, padding=1)) / 1e9)
print(json.dumps({"torch": torch.__version__, "gflops": res}))
`;

function torchGflops(): { torch: string; gflops: number[] } | undefined {
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', TORCH], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { torch: string; gflops: number[] };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend did not initialise');
  const peak = await simdPeak();
  console.log(`wasm SIMD peak (f32x4 mul + add, ${CHAINS} chains, one thread): ${peak.toFixed(1)} GFLOP/s`);
  const torch = torchGflops();
  const rows = shapes().map((s, i) => {
    const g = timeGflops(s);
    const t = torch?.gflops[i];
    return `| ${s.name} | ${g.toFixed(1)} | ${((100 * g) / peak).toFixed(0)}% | ${t === undefined ? '-' : t.toFixed(1)} | ${t === undefined ? '-' : `${(g / t).toFixed(2)}x`} |`;
  });
  console.log(`\n| one thread, fp32 | tfjs-wasm GFLOP/s | of the wasm SIMD peak | PyTorch ${torch?.torch ?? '(not installed)'} GFLOP/s | tfjs / PyTorch |\n|---|---|---|---|---|`);
  console.log(rows.join('\n'));
}

await main();
