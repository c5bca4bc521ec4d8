/**
 * Reference data written by models/train/make_fixtures.py: tensors as
 * {dims, data: base64 little-endian float32}. Pure code, usable in Node and the browser.
 */
export interface RefTensor {
  dims: number[];
  data: Float32Array;
}

export interface FixtureReference {
  opset: number;
  /** NCHW input in [0, 1]. */
  input: RefTensor;
  /** PyTorch output in eval mode (running BN statistics), NCHW for 4-D outputs. */
  eval: RefTensor;
  /** PyTorch output in train mode (batch statistics), when the model has BatchNorm. */
  batch?: RefTensor;
}

function decodeTensor(t: { dims: number[]; data: string }): RefTensor {
  const bin = atob(t.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return { dims: t.dims, data: new Float32Array(bytes.buffer) };
}

export function parseReference(json: string): FixtureReference {
  const raw = JSON.parse(json) as { opset: number; input: never; eval: never; batch?: never };
  return {
    opset: raw.opset,
    input: decodeTensor(raw.input),
    eval: decodeTensor(raw.eval),
    batch: raw.batch ? decodeTensor(raw.batch) : undefined,
  };
}

/** NCHW -> NHWC for a flat rank-4 array. */
export function nchwToNhwc(t: RefTensor): RefTensor {
  const [n, c, h, w] = t.dims as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = t.data[((b * c + ch) * h + y) * w + x]!;
  return { dims: [n, h, w, c], data: out };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
