/**
 * Forward-only throughput of the same ONNX bytes in onnxruntime-web (wasm, as many threads
 * as tfjs uses), timed on the same batches as our forward pass.
 */
import * as ort from 'onnxruntime-web';
import type { ImageBatch } from '../runtime/images.ts';
import type { ForwardThroughput } from './types.ts';

/** NHWC uint8 -> NCHW float in [0, 1], the layout of our exported models. */
function toNchw(batch: ImageBatch): Float32Array {
  const [n, h, w, c] = batch.shape;
  const out = new Float32Array(n * c * h * w);
  const scale = batch.data instanceof Float32Array ? 1 : 1 / 255;
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * w + x] = batch.data[((i * h + y) * w + x) * c + k]! * scale;
  return out;
}

export async function ortForwardThroughput(onnx: Uint8Array, batches: readonly ImageBatch[], threads: number): Promise<ForwardThroughput> {
  if (batches.length < 2) throw new Error('ORT baseline needs at least 2 batches (one warm-up)');
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  try {
    const input = session.inputNames[0]!;
    const feeds = batches.map((b) => {
      const [n, h, w, c] = b.shape;
      return { [input]: new ort.Tensor('float32', toNchw(b), [n, c, h, w]) };
    });
    let t0 = performance.now();
    await session.run(feeds[0]!);
    const firstBatchMs = performance.now() - t0;
    t0 = performance.now();
    let images = 0;
    for (const f of feeds.slice(1)) {
      const out = await session.run(f);
      for (const t of Object.values(out)) t.dispose();
      images += (f[input]!.dims[0] as number) ?? 0;
    }
    return { engine: 'onnxruntime-web', backend: `wasm (${threads} threads)`, threads, batchSize: batches[0]!.shape[0], batches: batches.length - 1, imagesPerSec: (1000 * images) / (performance.now() - t0), firstBatchMs };
  } finally {
    await session.release();
  }
}
