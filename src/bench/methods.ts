/**
 * Method names the benchmark can run, and their factories. Uses the methods engineer's
 * factories directly until the registry (src/methods/index.ts) lands.
 */
import { createBn } from '../methods/bn.ts';
import { createEata } from '../methods/eata.ts';
import { createSource } from '../methods/source.ts';
import { createTent } from '../methods/tent.ts';
import type { MethodFactory } from '../methods/types.ts';

const FACTORIES: Readonly<Record<string, MethodFactory>> = {
  source: createSource,
  bn: createBn('bn'),
  'bn-alpha': createBn('bn-alpha'),
  'bn-ema': createBn('bn-ema'),
  tent: createTent,
  eata: createEata('eata'),
  eta: createEata('eta'),
};

export const BENCH_METHODS: readonly string[] = Object.keys(FACTORIES);

export function methodFactory(name: string): MethodFactory {
  const f = FACTORIES[name];
  if (!f) throw new Error(`unknown method '${name}' (known: ${BENCH_METHODS.join(', ')})`);
  return f;
}

/** ['all'] -> every method; otherwise check each name. */
export function expandMethods(names: readonly string[]): string[] {
  if (names.length === 1 && names[0] === 'all') return [...BENCH_METHODS];
  for (const n of names) methodFactory(n);
  if (new Set(names).size !== names.length) throw new Error(`--methods lists a method twice: ${names.join(', ')}`);
  return [...names];
}
