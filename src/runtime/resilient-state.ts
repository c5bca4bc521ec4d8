/**
 * A method's own state (optimiser step and slots) as plain, structured-cloneable arrays,
 * so an exported adapted state carries it bit-exactly across the worker boundary, into
 * IndexedDB and back into a restarted worker.
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodState } from '../methods/types.ts';

export interface SlotRecord {
  shape: number[];
  data: Float32Array;
}

export interface SerializedMethodState {
  counters: Record<string, number>;
  /** Slot name -> one entry per variable (null where the slot is not allocated yet). */
  tensors: Record<string, (SlotRecord | null)[]>;
}

/** Reads the tensors' values; disposes the state's tensors (it takes ownership). */
export async function serializeMethodState(state: MethodState): Promise<SerializedMethodState> {
  try {
    const tensors: SerializedMethodState['tensors'] = {};
    for (const [slot, list] of Object.entries(state.tensors)) {
      tensors[slot] = await Promise.all(list.map(async (t) => (t ? { shape: t.shape.slice(), data: Float32Array.from(await t.data()) } : null)));
    }
    return { counters: { ...state.counters }, tensors };
  } finally {
    for (const list of Object.values(state.tensors)) for (const t of list) t?.dispose();
  }
}

/** Check a record from outside (a file, IndexedDB) and build tensors the caller disposes. */
export function deserializeMethodState(s: SerializedMethodState, where: string): MethodState {
  if (!s || typeof s !== 'object' || typeof s.counters !== 'object' || typeof s.tensors !== 'object' || !s.counters || !s.tensors) {
    throw new Error(`${where}: method state must have 'counters' and 'tensors'`);
  }
  for (const [k, v] of Object.entries(s.counters)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: method state counter '${k}' must be a finite number, got ${JSON.stringify(v)}`);
  }
  for (const [slot, list] of Object.entries(s.tensors)) {
    if (!Array.isArray(list)) throw new Error(`${where}: method state slot '${slot}' is not a list`);
    list.forEach((r, i) => {
      if (r === null) return;
      const ok = Array.isArray(r?.shape) && r.shape.every((d) => Number.isInteger(d) && d >= 0) && r.data instanceof Float32Array;
      if (!ok || tf.util.sizeFromShape(r.shape) !== r.data.length) {
        throw new Error(`${where}: method state slot '${slot}' entry ${i} has ${r?.data?.length ?? 'no'} values for shape [${r?.shape}]`);
      }
    });
  }
  const tensors: MethodState['tensors'] = {};
  for (const [slot, list] of Object.entries(s.tensors)) tensors[slot] = list.map((r) => (r ? tf.tensor(r.data, r.shape, 'float32') : null));
  return { counters: { ...s.counters }, tensors };
}

export function disposeMethodState(state: MethodState): void {
  for (const list of Object.values(state.tensors)) for (const t of list) t?.dispose();
}
