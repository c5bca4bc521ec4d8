/** Node-only access to models/fixtures (tests). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseReference, type FixtureReference } from './reference.ts';

export const FIXTURES = resolve(import.meta.dirname, '../../../models/fixtures');

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(FIXTURES, `${name}.onnx`)));
}

export function fixtureReference(name: string): FixtureReference {
  return parseReference(readFileSync(resolve(FIXTURES, `${name}.json`), 'utf8'));
}
