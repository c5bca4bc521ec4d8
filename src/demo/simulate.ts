/**
 * The demo's corruption simulator: applies one corruption at one severity to a uint8
 * batch as it streams in (in the runtime worker, so the page stays responsive). Seeded per
 * frame so a replayed stream is corrupted identically.
 */
import { corrupt, corruptionRng, isCorruptionName, loadFrostOverlays, type FrostOverlays, type Severity } from '../data/corruptions/index.ts';
import { imageFromUint8, imageToUint8 } from '../data/image.ts';
import type { ImageBatch } from '../runtime/images.ts';

export interface CorruptionSpec {
  name: string;
  severity: number;
  seed: number;
  /** Frame counter, so consecutive batches get different noise. */
  frame: number;
}

export type OverlayLoader = () => Promise<FrostOverlays>;

/** Overlays fetched from `baseUrl` (public/corruptions/ as served), decoded with the browser's codecs. */
export function fetchOverlays(baseUrl: string): OverlayLoader {
  return async () => {
    const { decodeImageBrowser } = await import('../data/decode-browser.ts');
    return loadFrostOverlays(async (file) => {
      const res = await fetch(new URL(file, baseUrl));
      if (!res.ok) throw new Error(`frost overlay ${file}: HTTP ${res.status} from ${res.url}`);
      return new Uint8Array(await res.arrayBuffer());
    }, decodeImageBrowser);
  };
}

export class Simulator {
  private frost: Promise<FrostOverlays> | undefined;

  constructor(private readonly loadOverlays?: OverlayLoader) {}

  /** A new uint8 batch with the corruption applied; the input is left untouched. */
  async apply(batch: ImageBatch, spec: CorruptionSpec): Promise<ImageBatch & { data: Uint8Array }> {
    if (!isCorruptionName(spec.name)) throw new Error(`unknown corruption '${spec.name}'`);
    if (!Number.isInteger(spec.severity) || spec.severity < 1 || spec.severity > 5) {
      throw new Error(`corruption severity must be 1..5, got ${spec.severity}`);
    }
    if (batch.data instanceof Float32Array) throw new Error('the simulator takes uint8 frames, got float32');
    const [n, h, w, c] = batch.shape;
    if (c !== 3) throw new Error(`the simulator takes RGB frames, got ${c} channels`);
    let frost: FrostOverlays | undefined;
    if (spec.name === 'frost') {
      if (!this.loadOverlays) throw new Error('frost needs the overlay images: no loader configured');
      this.frost ??= this.loadOverlays();
      frost = await this.frost;
    }
    const size = h * w * 3;
    const out = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) {
      const img = imageFromUint8(batch.data.subarray(i * size, (i + 1) * size), h, w);
      const rng = corruptionRng(spec.seed, spec.name, spec.severity as Severity, spec.frame * n + i);
      imageToUint8(corrupt(spec.name, img, spec.severity as Severity, { rng, frost }), out.subarray(i * size, (i + 1) * size));
    }
    return { data: out, shape: batch.shape };
  }
}
