/**
 * Small tensors kept on the host: initializers, constants and the shape arithmetic that
 * exporters emit around Reshape/Pad/Resize (Shape -> Gather -> Concat ...). Evaluating
 * these in plain JS keeps them out of the gradient tape and off the accelerator.
 */
export type HostDType = 'float' | 'int' | 'bool';

export interface HostTensor {
  readonly dims: readonly number[];
  readonly dtype: HostDType;
  /** Row-major values; int64 values beyond 2^53 are not supported (not needed for shapes). */
  readonly data: Float32Array | number[];
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function host(dims: readonly number[], data: ArrayLike<number>, dtype: HostDType): HostTensor {
  if (sizeOf(dims) !== data.length) throw new Error(`host tensor: ${data.length} values do not fill shape [${dims.join(',')}]`);
  return { dims: [...dims], dtype, data: dtype === 'float' ? Float32Array.from(data) : Array.from(data) };
}

export function scalarOf(t: HostTensor, what: string): number {
  if (t.data.length !== 1) throw new Error(`${what}: expected one value, got shape [${t.dims.join(',')}]`);
  return t.data[0]!;
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Numpy-style broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], what: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${what}: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function broadcastIndex(flat: number, outDims: readonly number[], inDims: readonly number[]): number {
  const outStrides = strides(outDims);
  const inStrides = strides(inDims);
  const off = outDims.length - inDims.length;
  let idx = 0;
  for (let i = 0; i < outDims.length; i++) {
    const coord = Math.floor(flat / outStrides[i]!) % outDims[i]!;
    if (i >= off && inDims[i - off] !== 1) idx += coord * inStrides[i - off]!;
  }
  return idx;
}

export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Equal' | 'Less' | 'Greater' | 'Max' | 'Min';

export function hostBinary(op: BinaryOp, a: HostTensor, b: HostTensor): HostTensor {
  const dims = broadcastShapes(a.dims, b.dims, op);
  const isInt = a.dtype !== 'float' && b.dtype !== 'float';
  const f = (x: number, y: number): number => {
    switch (op) {
      case 'Add': return x + y;
      case 'Sub': return x - y;
      case 'Mul': return x * y;
      // ONNX integer division truncates toward zero.
      case 'Div': return isInt ? Math.trunc(x / y) : x / y;
      case 'Equal': return x === y ? 1 : 0;
      case 'Less': return x < y ? 1 : 0;
      case 'Greater': return x > y ? 1 : 0;
      case 'Max': return Math.max(x, y);
      case 'Min': return Math.min(x, y);
    }
  };
  const n = sizeOf(dims);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = f(a.data[broadcastIndex(i, dims, a.dims)]!, b.data[broadcastIndex(i, dims, b.dims)]!);
  const comparison = op === 'Equal' || op === 'Less' || op === 'Greater';
  return host(dims, out, comparison ? 'bool' : isInt ? 'int' : 'float');
}

export function hostTranspose(t: HostTensor, perm: readonly number[]): HostTensor {
  const dims = perm.map((p) => t.dims[p]!);
  const inStrides = strides(t.dims);
  const outStrides = strides(dims);
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += (Math.floor(i / outStrides[k]!) % dims[k]!) * inStrides[perm[k]!]!;
    out[i] = t.data[src]!;
  }
  return host(dims, out, t.dtype);
}

/** Gather along one axis with (already non-negative) indices of any shape. */
export function hostGather(t: HostTensor, indices: HostTensor, axis: number): HostTensor {
  const outer = sizeOf(t.dims.slice(0, axis));
  const inner = sizeOf(t.dims.slice(axis + 1));
  const len = t.dims[axis]!;
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const rawIdx of indices.data) {
      const idx = rawIdx < 0 ? rawIdx + len : rawIdx;
      if (idx < 0 || idx >= len) throw new Error(`Gather: index ${rawIdx} out of range for axis of size ${len}`);
      for (let i = 0; i < inner; i++) out.push(t.data[(o * len + idx) * inner + i]!);
    }
  }
  return host([...t.dims.slice(0, axis), ...indices.dims, ...t.dims.slice(axis + 1)], out, t.dtype);
}

export function hostConcat(parts: readonly HostTensor[], axis: number): HostTensor {
  const first = parts[0]!;
  const outer = sizeOf(first.dims.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = sizeOf(p.dims.slice(axis));
      for (let i = 0; i < chunk; i++) out.push(p.data[o * chunk + i]!);
    }
  }
  const dims = [...first.dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
  const dtype = parts.some((p) => p.dtype === 'float') ? 'float' : first.dtype;
  return host(dims, out, dtype);
}

/** Resolved ONNX Slice along given axes (steps may be negative). */
export function hostSlice(t: HostTensor, starts: number[], ends: number[], axes: number[], steps: number[]): HostTensor {
  const ranges = t.dims.map((d) => ({ start: 0, step: 1, count: d }));
  axes.forEach((axis, k) => {
    const r = resolveSliceRange(t.dims[axis]!, starts[k]!, ends[k]!, steps[k]!);
    ranges[axis] = r;
  });
  const dims = ranges.map((r) => r.count);
  const inStrides = strides(t.dims);
  const outStrides = strides(dims);
  const n = sizeOf(dims);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) {
      const c = Math.floor(i / outStrides[k]!) % dims[k]!;
      src += (ranges[k]!.start + c * ranges[k]!.step) * inStrides[k]!;
    }
    out[i] = t.data[src]!;
  }
  return host(dims, out, t.dtype);
}

/** ONNX Slice semantics for one axis: clamp start/end, count the elements taken. */
export function resolveSliceRange(dim: number, start: number, end: number, step: number): { start: number; step: number; count: number } {
  if (step === 0) throw new Error('Slice: step 0');
  const norm = (v: number) => (v < 0 ? v + dim : v);
  let s = norm(start);
  let e = norm(end);
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const count = Math.max(0, Math.ceil((e - s) / step));
  return { start: s, step, count };
}

/** Resolve an ONNX Reshape target (0 = copy input dim, -1 = infer). */
export function resolveReshape(inDims: readonly number[], target: readonly number[], allowZero: boolean, what: string): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inDims[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(inDims);
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1) throw new Error(`${what}: more than one -1 in target shape [${target.join(',')}]`);
  if (inferred === 1) out[out.indexOf(-1)] = total / known;
  if (sizeOf(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${what}: cannot reshape [${inDims.join(',')}] to [${target.join(',')}]`);
  }
  return out;
}
