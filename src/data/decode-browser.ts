/**
 * Browser image decoding with the browser's own codecs. Colour-space conversion is off so
 * PNG bytes come out unchanged (label maps stay class indices).
 */
import { sniffFormat, toRgb, type DecodedImage } from './decode.ts';

export async function decodeImageBrowser(bytes: Uint8Array, what: string): Promise<DecodedImage> {
  const format = sniffFormat(bytes);
  if (format === 'unknown') throw new Error(`${what} is neither PNG nor JPEG`);
  let bitmap: ImageBitmap;
  try {
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: format === 'png' ? 'image/png' : 'image/jpeg' });
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new Error(`cannot decode ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2d context unavailable');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return toRgb(rgba, canvas.height, canvas.width, 4);
}
