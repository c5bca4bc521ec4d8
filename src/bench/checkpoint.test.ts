import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';

test('checkpoint encoding: JSON round trip is bit-exact, NaN payloads and -0 included; a torn array is refused', () => {
  const odd = new Float32Array([1.5, -0, Number.NaN, 3.4e38, 1e-45, -Infinity]);
  const c = {
    method: 'cotta',
    hash: 'h',
    values: [{ name: 'w', shape: [2, 3], data: odd }],
    methodState: {
      counters: { updates: 3, cottaRng0: 4294967295 },
      tensors: { teacher: [{ shape: [6], data: odd.map((v) => v * 2) }, null] },
      lists: { memoryMeta: [3, 0.1234567890123, 7] },
    },
  };
  const back = decodeCheckpoint(JSON.parse(JSON.stringify(encodeCheckpoint(c))));
  const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
  assert.deepEqual(bits(back.values[0]!.data), bits(odd));
  assert.deepEqual(back.values[0]!.shape, [2, 3]);
  assert.deepEqual(bits(back.methodState!.tensors.teacher![0]!.data), bits(c.methodState.tensors.teacher[0]!.data));
  assert.equal(back.methodState!.tensors.teacher![1], null);
  assert.deepEqual(back.methodState!.counters, c.methodState.counters);
  assert.deepEqual(back.methodState!.lists, c.methodState.lists, 'host lists as they were (float64)');
  const torn = encodeCheckpoint(c);
  torn.values[0]!.base64 = 'AAAA';
  assert.throws(() => decodeCheckpoint(torn), /checkpoint of 'cotta' value 'w': 3 bytes is not a whole number of float32 values/);
});
