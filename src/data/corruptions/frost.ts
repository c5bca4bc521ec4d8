/**
 * The frost overlays (frost1.png .. frost5.jpg, shipped in public/corruptions/). PNGs go
 * through the platform decoder (lossless, identical everywhere); JPEGs always through
 * jpeg-js so Node and the browser see the same pixels.
 */
import type { ImageDecoder } from '../decode.ts';
import { imageFromUint8, type RgbImage } from '../image.ts';
import { decodeJpeg } from './jpeg.ts';
import { resizeLinearByFactor } from './weather.ts';

export const FROST_FILES = ['frost1.png', 'frost2.png', 'frost3.png', 'frost4.jpg', 'frost5.jpg'] as const;

export class FrostOverlays {
  private readonly scaled = new Map<number, readonly RgbImage[]>();
  constructor(readonly originals: readonly RgbImage[]) {
    if (originals.length !== FROST_FILES.length) throw new Error(`FrostOverlays needs ${FROST_FILES.length} images, got ${originals.length}`);
  }

  /** Overlays resized by `factor` (cv2.resize INTER_LINEAR), cached. */
  at(factor: number): readonly RgbImage[] {
    if (factor === 1) return this.originals;
    let s = this.scaled.get(factor);
    if (!s) {
      s = this.originals.map((o) => resizeLinearByFactor(o, factor));
      this.scaled.set(factor, s);
    }
    return s;
  }
}

/** Load the overlays with `read(fileName)` (disk in Node, fetch in the browser). */
export async function loadFrostOverlays(read: (file: string) => Promise<Uint8Array>, decodePng: ImageDecoder): Promise<FrostOverlays> {
  const images = await Promise.all(
    FROST_FILES.map(async (file) => {
      const bytes = await read(file);
      if (file.endsWith('.jpg')) {
        const d = decodeJpeg(bytes, file);
        return imageFromUint8(d.data, d.height, d.width, 4);
      }
      const d = await decodePng(bytes, file);
      return imageFromUint8(d.data, d.height, d.width, 3);
    }),
  );
  return new FrostOverlays(images);
}
