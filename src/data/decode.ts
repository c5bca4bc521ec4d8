/** Image decoding contract shared by the Node and browser decoders. */
export interface DecodedImage {
  readonly height: number;
  readonly width: number;
  /** RGB, 8 bits, HWC. Grey images are replicated to 3 channels; alpha is dropped. */
  readonly data: Uint8Array;
}

export type ImageDecoder = (bytes: Uint8Array, what: string) => Promise<DecodedImage>;

export function sniffFormat(bytes: Uint8Array): 'png' | 'jpeg' | 'unknown' {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return 'unknown';
}

/** Keep the first three of `channels` interleaved channels. */
export function toRgb(src: Uint8Array | Uint8ClampedArray, height: number, width: number, channels: number): DecodedImage {
  const n = height * width;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    data[p * 3] = src[p * channels]!;
    data[p * 3 + 1] = src[p * channels + 1]!;
    data[p * 3 + 2] = src[p * channels + 2]!;
  }
  return { height, width, data };
}
