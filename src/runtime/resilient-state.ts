/**
 * A method's own state (optimiser step and slots) as plain, structured-cloneable arrays,
 * so an exported adapted state carries it bit-exactly across the worker boundary, into
 * IndexedDB and back into a restarted worker.
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodState } from '../methods/types.ts';
import type { AdaptableModel } from '../model/types.ts';
import type { TensorRecord } from '../demo/persist.ts';

export interface SlotRecord {
  shape: number[];
  data: Float32Array;
}

export interface SerializedMethodState {
  counters: Record<string, number>;
  /** Slot name -> one entry per variable (null where the slot is not allocated yet). */
  tensors: Record<string, (SlotRecord | null)[]>;
  lists?: Record<string, number[]>;
}

const copyLists = (lists: Record<string, number[]> | undefined) =>
  lists ? { lists: Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, [...v]])) } : {};

/** Reads the tensors' values; disposes the state's tensors (it takes ownership). */
export async function serializeMethodState(state: MethodState): Promise<SerializedMethodState> {
  try {
    const tensors: SerializedMethodState['tensors'] = {};
    for (const [slot, list] of Object.entries(state.tensors)) {
      tensors[slot] = await Promise.all(list.map(async (t) => (t ? { shape: t.shape.slice(), data: Float32Array.from(await t.data()) } : null)));
    }
    return { counters: { ...state.counters }, tensors, ...copyLists(state.lists) };
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
  for (const [name, list] of Object.entries(s.lists ?? {})) {
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`${where}: method state list '${name}' must be a list of finite numbers`);
    }
  }
  const tensors: MethodState['tensors'] = {};
  for (const [slot, list] of Object.entries(s.tensors)) tensors[slot] = list.map((r) => (r ? tf.tensor(r.data, r.shape, 'float32') : null));
  return { counters: { ...s.counters }, tensors, ...copyLists(s.lists) };
}

/** Values of every parameter and norm statistic of the model, in snapshot order. */
export async function exportModelValues(model: AdaptableModel): Promise<TensorRecord[]> {
  const snap = model.snapshot();
  try {
    const out: TensorRecord[] = [];
    for (const [name, t] of snap.values) out.push({ name, shape: t.shape.slice(), data: (await t.data()) as Float32Array });
    return out;
  } finally {
    snap.dispose();
  }
}

/** Write exported values back; count and shapes must match the model's snapshot order (checked before any write). */
export function importModelValues(model: AdaptableModel, values: readonly TensorRecord[]): void {
  const current = model.snapshot();
  const names = [...current.values.keys()];
  const shapes = [...current.values.values()].map((t) => t.shape);
  current.dispose();
  if (values.length !== names.length) {
    throw new Error(`adapted state has ${values.length} tensors, model '${model.info.name}' has ${names.length}`);
  }
  values.forEach((rec, i) => {
    if (!tf.util.arraysEqual(shapes[i]!, rec.shape) || rec.data.length !== tf.util.sizeFromShape(shapes[i]!)) {
      throw new Error(`adapted state tensor ${i} '${rec.name}' has shape [${rec.shape}], model's '${names[i]}' needs [${shapes[i]}]`);
    }
  });
  const tensors = new Map(names.map((n, i) => [n, tf.tensor(values[i]!.data, values[i]!.shape)] as const));
  try {
    model.restore({ values: tensors, dispose: () => tensors.forEach((t) => t.dispose()) });
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}
