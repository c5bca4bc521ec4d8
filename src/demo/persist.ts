/**
 * Adapted model state kept in IndexedDB, one record per model (keyed by name and file
 * hash, so a state never lands on a different model), restorable after a reload.
 */
import type { SerializedMethodState } from '../runtime/resilient-state.ts';

export interface TensorRecord {
  /** Variable name when saved (names carry a per-load prefix, so records match by position). */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface AdaptedState {
  model: string;
  hash: string;
  method: string;
  /** Batches the model had adapted on when saved. */
  steps: number;
  savedAt: string;
  /** Parameter and norm-statistic values, in the model's snapshot order. */
  values: TensorRecord[];
  /** The method's own state (optimiser step and moments), for methods that export it. */
  methodState?: SerializedMethodState;
}

const DB_NAME = 'webtta';
const STORE = 'adapted-state';

function request<T>(req: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB ${what} failed: ${req.error?.message ?? 'unknown error'}`));
  });
}

function openDb(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('IndexedDB is not available in this context'));
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req, `open '${DB_NAME}'`);
}

async function withStore<T>(mode: IDBTransactionMode, what: string, run: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    const tx = db.transaction(STORE, mode);
    const result = await request(run(tx.objectStore(STORE)), what);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(new Error(`IndexedDB ${what} failed: ${tx.error?.message ?? 'unknown error'}`));
      tx.onabort = () => reject(new Error(`IndexedDB ${what} aborted: ${tx.error?.message ?? 'unknown error'}`));
    });
    return result;
  } finally {
    db.close();
  }
}

export function stateKey(model: string, hash: string): string {
  return `${model}@${hash}`;
}

/** Check a state read back (or imported from a file) before it reaches the runtime. */
export function validateState(state: unknown, where: string): AdaptedState {
  const s = state as Partial<AdaptedState> | null;
  if (!s || typeof s !== 'object') throw new Error(`${where}: adapted state is not an object`);
  for (const k of ['model', 'hash', 'method', 'savedAt'] as const) {
    if (typeof s[k] !== 'string') throw new Error(`${where}: adapted state field '${k}' must be a string`);
  }
  if (!Array.isArray(s.values)) throw new Error(`${where}: adapted state has no 'values' list`);
  s.values.forEach((rec: Partial<TensorRecord> | null, i) => {
    const size = Array.isArray(rec?.shape) ? rec.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!(rec?.data instanceof Float32Array) || size !== rec.data.length) {
      throw new Error(`${where}: tensor ${i} '${rec?.name}' has ${rec?.data?.length ?? 'no'} values for shape [${rec?.shape}]`);
    }
  });
  return s as AdaptedState;
}

export async function saveState(state: AdaptedState): Promise<void> {
  validateState(state, 'saveState');
  await withStore('readwrite', `save ${state.model}`, (s) => s.put(state, stateKey(state.model, state.hash)));
}

export async function loadState(model: string, hash: string): Promise<AdaptedState | undefined> {
  const raw = await withStore('readonly', `load ${model}`, (s) => s.get(stateKey(model, hash)) as IDBRequest<unknown>);
  return raw === undefined ? undefined : validateState(raw, `stored state of ${model}`);
}

export async function deleteState(model: string, hash: string): Promise<void> {
  await withStore('readwrite', `delete ${model}`, (s) => s.delete(stateKey(model, hash)));
}
