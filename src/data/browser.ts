/** Browser conveniences: data files by URL. */
import { loadFrostOverlays, type FrostOverlays } from './corruptions/index.ts';
import { decodeImageBrowser } from './decode-browser.ts';

export async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The frost overlays served from public/corruptions (Vite serves public/ at the site root). */
export function loadFrostOverlaysFromUrl(base = '/corruptions/'): Promise<FrostOverlays> {
  return loadFrostOverlays((f) => fetchBytes(base + f), decodeImageBrowser);
}
