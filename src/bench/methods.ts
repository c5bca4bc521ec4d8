/** Method names for the benchmark, checked against the registry; `all` expands to every method. */
import { createMethod, METHODS, methodInfo, type MethodContext, type TTAMethod } from '../methods/index.ts';
import type { AdaptableModel } from '../model/types.ts';

export function expandMethods(names: readonly string[]): string[] {
  if (names.length === 1 && names[0] === 'all') return [...METHODS.keys()];
  for (const n of names) methodInfo(n);
  if (new Set(names).size !== names.length) throw new Error(`--methods lists a method twice: ${names.join(', ')}`);
  return [...names];
}

/**
 * Build a method from the benchmark's overrides; the override `resetEvery` (steps) is the
 * registry's periodic-reset wrapper (RDumb), not a hyper-parameter of the method itself.
 */
export function createBenchMethod(name: string, model: AdaptableModel, ctx: MethodContext, overrides: Record<string, unknown> = {}): Promise<TTAMethod> {
  const { resetEvery, ...rest } = overrides;
  if (resetEvery !== undefined && !(Number.isInteger(resetEvery) && (resetEvery as number) >= 0)) {
    throw new Error(`${name}.resetEvery must be a non-negative integer (steps), got ${String(resetEvery)}`);
  }
  return createMethod(name, model, ctx, { overrides: rest, resetEvery: resetEvery as number | undefined });
}

/** Batch size per method: `explicit` (--batch) for all, else each method's published size for the data set. */
export function batchSizesFor(methods: readonly string[], dataset: MethodContext['dataset'], explicit?: number): Record<string, number> {
  return Object.fromEntries(methods.map((m) => [m, explicit ?? methodInfo(m).defaultBatchSize({ dataset })]));
}

/** Fail before anything runs when an override names an unknown option or has the wrong type. */
export function checkOverrides(overrides: Record<string, Record<string, unknown>>, dataset: MethodContext['dataset']): void {
  for (const [name, values] of Object.entries(overrides)) {
    const defaults = methodInfo(name).defaults({ seed: 0, dataset });
    for (const [key, value] of Object.entries(values)) {
      if (key === 'resetEvery') continue;
      if (!(key in defaults)) throw new Error(`--set ${name}.${key}: unknown option (known: ${[...Object.keys(defaults), 'resetEvery'].join(', ')})`);
      if (typeof value !== typeof defaults[key]) throw new Error(`--set ${name}.${key}=${JSON.stringify(value)}: expected a ${typeof defaults[key]} (default ${JSON.stringify(defaults[key])})`);
    }
  }
}
