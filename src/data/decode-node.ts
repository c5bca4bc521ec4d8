/** Node image decoding with maintained pure-JS libraries: pngjs and jpeg-js. */
import { PNG } from 'pngjs';
import { decodeJpeg } from './corruptions/jpeg.ts';
import { sniffFormat, toRgb, type DecodedImage } from './decode.ts';

export function decodeImageSync(bytes: Uint8Array, what: string): DecodedImage {
  const format = sniffFormat(bytes);
  if (format === 'jpeg') {
    const img = decodeJpeg(bytes, what);
    return toRgb(img.data, img.height, img.width, 4);
  }
  if (format === 'png') {
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      throw new Error(`cannot decode PNG ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return toRgb(png.data, png.height, png.width, 4);
  }
  throw new Error(`${what} is neither PNG nor JPEG (first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16)).join(' ')})`);
}

export const decodeImageNode = async (bytes: Uint8Array, what: string): Promise<DecodedImage> => decodeImageSync(bytes, what);

/** RGB PNG encoder for test artifacts. */
export function encodePng(img: DecodedImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  for (let p = 0; p < img.width * img.height; p++) {
    png.data[p * 4] = img.data[p * 3]!;
    png.data[p * 4 + 1] = img.data[p * 3 + 1]!;
    png.data[p * 4 + 2] = img.data[p * 3 + 2]!;
    png.data[p * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}
