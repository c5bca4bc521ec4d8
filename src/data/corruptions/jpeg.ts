/**
 * JPEG round trip with jpeg-js in Node and in the browser alike, so the corrupted bytes do
 * not depend on the platform's codec.
 */
import jpeg from 'jpeg-js';

// jpeg-js returns Buffer.from(...) when bundled as CommonJS (Vite pre-bundling does that);
// browsers have no Buffer, and a Uint8Array is all it needs.
const g = globalThis as { Buffer?: unknown };
if (g.Buffer === undefined) {
  g.Buffer = { from: (a: ArrayLike<number>) => Uint8Array.from(a), alloc: (n: number) => new Uint8Array(n) };
}

export function encodeJpeg(rgba: Uint8Array, height: number, width: number, quality: number): Uint8Array {
  return new Uint8Array(jpeg.encode({ data: rgba, width, height }, quality).data);
}

/** Decode to RGBA. */
export function decodeJpeg(bytes: Uint8Array, what = 'JPEG'): { data: Uint8Array; height: number; width: number } {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { data: img.data, height: img.height, width: img.width };
  } catch (err) {
    throw new Error(`cannot decode ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
