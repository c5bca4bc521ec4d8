/**
 * A method checkpoint as JSON-safe data (float arrays as base64 of their little-endian
 * bytes), so it can cross Playwright into the CLI's output folder and back bit-exactly.
 */
import type { MethodCheckpoint } from '../runtime/session.ts';
import type { SlotRecord } from '../runtime/resilient-state.ts';

export interface EncodedArray {
  shape: number[];
  base64: string;
}

export interface EncodedCheckpoint {
  method: string;
  hash: string;
  values: (EncodedArray & { name: string })[];
  methodState?: { counters: Record<string, number>; tensors: Record<string, (EncodedArray | null)[]>; lists?: Record<string, number[]> };
}

function toBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string, where: string): Float32Array {
  const bin = atob(s);
  if (bin.length % 4 !== 0) throw new Error(`${where}: ${bin.length} bytes is not a whole number of float32 values`);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

const encode = (r: SlotRecord): EncodedArray => ({ shape: r.shape, base64: toBase64(r.data) });
const decode = (r: EncodedArray, where: string): SlotRecord => ({ shape: r.shape, data: fromBase64(r.base64, where) });

export function encodeCheckpoint(c: MethodCheckpoint): EncodedCheckpoint {
  return {
    method: c.method,
    hash: c.hash,
    values: c.values.map((v) => ({ name: v.name, ...encode(v) })),
    ...(c.methodState
      ? {
          methodState: {
            counters: c.methodState.counters,
            tensors: Object.fromEntries(Object.entries(c.methodState.tensors).map(([k, list]) => [k, list.map((r) => (r ? encode(r) : null))])),
            ...(c.methodState.lists ? { lists: c.methodState.lists } : {}),
          },
        }
      : {}),
  };
}

/** Shapes and sizes are checked again when the session imports the result. */
export function decodeCheckpoint(e: EncodedCheckpoint): MethodCheckpoint {
  const where = `checkpoint of '${e.method}'`;
  return {
    method: e.method,
    hash: e.hash,
    values: e.values.map((v) => ({ name: v.name, ...decode(v, `${where} value '${v.name}'`) })),
    ...(e.methodState
      ? {
          methodState: {
            counters: e.methodState.counters,
            tensors: Object.fromEntries(Object.entries(e.methodState.tensors).map(([k, list]) => [k, list.map((r, i) => (r ? decode(r, `${where} slot '${k}' entry ${i}`) : null))])),
            ...(e.methodState.lists ? { lists: e.methodState.lists } : {}),
          },
        }
      : {}),
  };
}
