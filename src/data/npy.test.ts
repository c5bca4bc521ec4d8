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
