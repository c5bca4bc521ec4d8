/**
 * Test clips for Chromium's fake camera (--use-file-for-fake-video-capture): shipped
 * CIFAR-10 sample images, upscaled, written as a Y4M (YUV 4:2:0, full-range BT.601).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCifarBatch } from '../src/data/cifar.ts';
import { ROOT } from './browser.ts';

export function cifarSample(n: number): { data: Uint8Array; labels: Uint8Array } {
  const bytes = readFileSync(resolve(ROOT, 'public/samples/cifar10/test_canonical_0-999.bin'));
  const s = parseCifarBatch(new Uint8Array(bytes.subarray(0, 3073 * n)));
  return { data: s.data, labels: s.labels };
}

/** RGB frames (HWC uint8, `size` x `size`) to a Y4M clip, each frame repeated `hold` times. */
export function y4m(frames: readonly Uint8Array[], size: number, fps: number, hold: number): Uint8Array {
  if (size % 2) throw new Error(`Y4M 4:2:0 needs an even size, got ${size}`);
  const header = new TextEncoder().encode(`YUV4MPEG2 W${size} H${size} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const tag = new TextEncoder().encode('FRAME\n');
  const plane = size * size;
  const frameBytes = tag.length + plane + plane / 2;
  const out = new Uint8Array(header.length + frames.length * hold * frameBytes);
  out.set(header);
  let off = header.length;
  for (const rgb of frames) {
    const yuv = new Uint8Array(plane + plane / 2);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const p = 3 * (r * size + c);
        yuv[r * size + c] = Math.round(0.299 * rgb[p]! + 0.587 * rgb[p + 1]! + 0.114 * rgb[p + 2]!);
      }
    }
    const half = size / 2;
    for (let r = 0; r < half; r++) {
      for (let c = 0; c < half; c++) {
        let u = 0;
        let v = 0;
        for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
          const p = 3 * ((2 * r + dr) * size + 2 * c + dc);
          const [R, G, B] = [rgb[p]!, rgb[p + 1]!, rgb[p + 2]!];
          u += -0.168736 * R - 0.331264 * G + 0.5 * B + 128;
          v += 0.5 * R - 0.418688 * G - 0.081312 * B + 128;
        }
        yuv[plane + r * half + c] = Math.max(0, Math.min(255, Math.round(u / 4)));
        yuv[plane + plane / 4 + r * half + c] = Math.max(0, Math.min(255, Math.round(v / 4)));
      }
    }
    for (let k = 0; k < hold; k++) {
      out.set(tag, off);
      out.set(yuv, off + tag.length);
      off += frameBytes;
    }
  }
  return out;
}

/** Nearest-neighbour upscale of a 32x32 HWC image by an integer factor. */
export function upscale(rgb: Uint8Array, size: number, factor: number): Uint8Array {
  const s = size * factor;
  const out = new Uint8Array(s * s * 3);
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      const src = 3 * (Math.floor(r / factor) * size + Math.floor(c / factor));
      out.set(rgb.subarray(src, src + 3), 3 * (r * s + c));
    }
  }
  return out;
}

/** Write a clip of the first `n` sample images (128x128, 5 fps, each held 2 frames); returns its path. */
export function writeSampleClip(path: string, n: number): string {
  const { data } = cifarSample(n);
  const frames = Array.from({ length: n }, (_, i) => upscale(data.subarray(i * 3072, (i + 1) * 3072), 32, 4));
  writeFileSync(path, y4m(frames, 128, 5, 2));
  return path;
}
