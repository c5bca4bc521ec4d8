/**
 * NumPy .npy format (versions 1-3): header parsing with dtype / shape / fortran_order
 * checks, reading into typed arrays, and writing (for make-cifar10c). Little-endian only,
 * like every file numpy writes on common hardware.
 */
export type NpyDtype = '|u1' | '|i1' | '<u2' | '<i2' | '<u4' | '<i4' | '<i8' | '<u8' | '<f4' | '<f8';

export interface NpyHeader {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly fortranOrder: boolean;
  /** Byte offset of the data. */
  readonly dataOffset: number;
  readonly itemSize: number;
  readonly count: number;
}

const ITEM_SIZE: Record<NpyDtype, number> = {
  '|u1': 1, '|i1': 1, '<u2': 2, '<i2': 2, '<u4': 4, '<i4': 4, '<i8': 8, '<u8': 8, '<f4': 4, '<f8': 8,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse the header from the first bytes of a file (at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array, what = '.npy file'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new Error(`${what}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  let headerLen: number;
  let start: number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${what}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`${what}: unsupported .npy version ${major}.${bytes[7]}`);
  }
  if (bytes.length < start + headerLen) throw new Error(`${what}: truncated .npy header (need ${start + headerLen} bytes, have ${bytes.length})`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${what}: malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const dtype = (descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr) as NpyDtype;
  if (!(dtype in ITEM_SIZE)) throw new Error(`${what}: unsupported dtype '${descr}' (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: bad shape entry '${s}' in ${JSON.stringify(text.trim())}`);
      return v;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, fortranOrder: fortran === 'True', dataOffset: start + headerLen, itemSize: ITEM_SIZE[dtype], count };
}

export type NpyArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** Typed view of `byteLength` bytes of data (copied so it is aligned). */
export function npyData(header: NpyHeader, data: Uint8Array): NpyArray {
  const buf = data.slice().buffer;
  switch (header.dtype) {
    case '|u1': return new Uint8Array(buf);
    case '|i1': return new Int8Array(buf);
    case '<u2': return new Uint16Array(buf);
    case '<i2': return new Int16Array(buf);
    case '<u4': return new Uint32Array(buf);
    case '<i4': return new Int32Array(buf);
    case '<i8': return new BigInt64Array(buf);
    case '<u8': return new BigUint64Array(buf);
    case '<f4': return new Float32Array(buf);
    case '<f8': return new Float64Array(buf);
  }
}

/** Parse a whole .npy file; C order is required (a Fortran-order array is refused by name). */
export function readNpy(bytes: Uint8Array, what = '.npy file'): { header: NpyHeader; data: NpyArray } {
  const header = parseNpyHeader(bytes, what);
  if (header.fortranOrder) throw new Error(`${what}: fortran_order=True arrays are not supported (save with C order)`);
  const need = header.count * header.itemSize;
  const have = bytes.length - header.dataOffset;
  if (have !== need) throw new Error(`${what}: shape (${header.shape.join(', ')}) ${header.dtype} needs ${need} data bytes, file has ${have}`);
  return { header, data: npyData(header, bytes.subarray(header.dataOffset)) };
}

/** Integer labels as numbers, whatever integer dtype they were saved with. */
export function toNumbers(a: NpyArray): number[] {
  return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * A version 1.0 header for `shape`, byte-identical to numpy's np.save: room for the first
 * axis to grow to 21 digits, then padding so the data starts on a 64-byte boundary.
 */
export function npyHeaderBytes(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let text = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) text += ' '.repeat(21 - String(shape[0]).length);
  text += ' '.repeat((64 - ((10 + text.length + 1) % 64)) % 64) + '\n';
  if (text.length > 0xffff) throw new Error(`npy header for shape (${shape.join(', ')}) is too long for format 1.0`);
  const out = new Uint8Array(10 + text.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}
