/** Node conveniences: data files from disk. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCifarBatch, type Uint8Images } from './cifar.ts';
import { loadFrostOverlays, type FrostOverlays } from './corruptions/index.ts';
import { decodeImageNode } from './decode-node.ts';

/** public/corruptions of this checkout, where the frost overlays ship. */
export const CORRUPTION_ASSETS = resolve(fileURLToPath(import.meta.url), '../../../public/corruptions');

export function loadFrostOverlaysFromDisk(dir = CORRUPTION_ASSETS): Promise<FrostOverlays> {
  return loadFrostOverlays(async (f) => new Uint8Array(readFileSync(join(dir, f))), decodeImageNode);
}

export function readCifarBatchFile(path: string): Uint8Images {
  return parseCifarBatch(new Uint8Array(readFileSync(path)), path);
}
