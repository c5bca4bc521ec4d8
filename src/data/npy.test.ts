import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npyHeaderBytes, parseNpyHeader, readNpy, toNumbers } from './npy.ts';

// Produced by numpy 1.24 np.save: arange(6, dtype='<i8').reshape(2, 3) and [[1.5, -2]] as '<f4'.
const I8 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAEAAAAAAAAAAgAAAAAAAAADAAAAAAAAAAQAAAAAAAAABQAAAAAAAAA=';
const F4 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwA==';
const FORTRAN = 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAA=';
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

test('reads numpy-written int64 and float32 arrays', () => {
  const a = readNpy(bytes(I8));
  assert.equal(a.header.dtype, '<i8');
  assert.deepEqual(a.header.shape, [2, 3]);
  assert.equal(a.header.dataOffset, 128);
  assert.deepEqual(toNumbers(a.data), [0, 1, 2, 3, 4, 5]);
  const f = readNpy(bytes(F4));
  assert.deepEqual(Array.from(f.data as Float32Array), [1.5, -2]);
});

test('writes headers byte-identical to numpy', () => {
  // np.save(np.zeros((5,32,32,3), uint8)) and np.zeros((7,), uint8) header bytes
  const expect4 = "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (5, 32, 32, 3), }" + ' '.repeat(50) + '\n';
  const expect1 = "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }" + ' '.repeat(60) + '\n';
  assert.equal(String.fromCharCode(...npyHeaderBytes('|u1', [5, 32, 32, 3])), expect4);
  assert.equal(String.fromCharCode(...npyHeaderBytes('|u1', [7])), expect1);
  const i8 = bytes(I8);
  assert.deepEqual(npyHeaderBytes('<i8', [2, 3]), i8.subarray(0, 128));
});

/**
 * A format 2.0 / 3.0 file laid out as numpy writes one (4-byte little-endian header length, data on a
 * 64-byte boundary); numpy picks these versions only for headers over 65535 bytes, which a short one stands in for.
 */
function npyV2(major: 2 | 3, header: string, data: Uint8Array): Uint8Array {
  const body = new TextEncoder().encode(header);
  const pad = (64 - ((12 + body.length + 1) % 64)) % 64;
  const out = new Uint8Array(12 + body.length + pad + 1 + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  new DataView(out.buffer).setUint32(8, body.length + pad + 1, true);
  out.set(body, 12);
  out.fill(0x20, 12 + body.length, 12 + body.length + pad);
  out[12 + body.length + pad] = 0x0a;
  out.set(data, 12 + body.length + pad + 1);
  return out;
}

test('reads format 2.0 and 3.0 files (4-byte header length)', () => {
  const data = new Uint8Array(new Float32Array([0.25, -3, 7, 1e-3]).buffer);
  for (const major of [2, 3] as const) {
    const file = npyV2(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data);
    const a = readNpy(file, `v${major}.npy`);
    assert.deepEqual(a.header.shape, [2, 2]);
    // 12 + 60 header characters + newline, padded to the next multiple of 64
    assert.equal(a.header.dataOffset, 128);
    assert.deepEqual(Array.from(a.data as Float32Array), Array.from(new Float32Array([0.25, -3, 7, 1e-3])));
  }
  const u1 = npyV2(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.from([7, 8, 9]));
  assert.deepEqual(toNumbers(readNpy(u1).data), [7, 8, 9]);
  assert.throws(() => parseNpyHeader(u1.subarray(0, 11), 'short.npy'), /short\.npy: truncated \.npy header$/);
  assert.throws(() => parseNpyHeader(u1.subarray(0, 40), 'cut.npy'), /cut\.npy: truncated \.npy header \(need 128 bytes, have 40\)/);
});

test('bad input gives errors naming the problem', () => {
  assert.throws(() => parseNpyHeader(new Uint8Array(20), 'x.npy'), /x\.npy: not a \.npy file \(bad magic\)/);
  assert.throws(() => readNpy(bytes(FORTRAN), 'f.npy'), /f\.npy: fortran_order=True/);
  assert.equal(parseNpyHeader(bytes(FORTRAN)).fortranOrder, true);
  const truncated = bytes(I8).subarray(0, 140);
  assert.throws(() => readNpy(truncated, 't.npy'), /t\.npy: shape \(2, 3\) <i8 needs 48 data bytes, file has 12/);
  const badDtype = bytes(I8);
  badDtype.set(Array.from("'>i8'", (c) => c.charCodeAt(0)), 19);
  assert.throws(() => parseNpyHeader(badDtype, 'b.npy'), /b\.npy: unsupported dtype '>i8'/);
  const noShape = bytes(I8);
  noShape.set(Array.from('shapX', (c) => c.charCodeAt(0)), 50);
  assert.throws(() => parseNpyHeader(noShape, 'h.npy'), /h\.npy: malformed \.npy header/);
  const v9 = bytes(I8);
  v9[6] = 9;
  assert.throws(() => parseNpyHeader(v9, 'v.npy'), /unsupported \.npy version 9/);
});
