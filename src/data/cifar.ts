/**
 * CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin): records of 1 label byte +
 * 1024 R + 1024 G + 1024 B bytes (row-major 32x32).
 */
export const CIFAR_RECORD = 3073;
export const CIFAR_SIZE = 32;

export interface Uint8Images {
  readonly n: number;
  readonly height: number;
  readonly width: number;
  /** n * height * width * 3 bytes, NHWC RGB. */
  readonly data: Uint8Array;
  readonly labels: Uint8Array;
}

export function parseCifarBatch(bytes: Uint8Array, what = 'CIFAR-10 batch'): Uint8Images {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0) {
    throw new Error(`${what}: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD}-byte CIFAR-10 records`);
  }
  const n = bytes.length / CIFAR_RECORD;
  const plane = CIFAR_SIZE * CIFAR_SIZE;
  const data = new Uint8Array(n * plane * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD;
    const label = bytes[rec]!;
    if (label > 9) throw new Error(`${what}: record ${i} has label ${label}, expected 0..9 (is this CIFAR-100?)`);
    labels[i] = label;
    const out = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      data[out + p * 3] = bytes[rec + 1 + p]!;
      data[out + p * 3 + 1] = bytes[rec + 1 + plane + p]!;
      data[out + p * 3 + 2] = bytes[rec + 1 + 2 * plane + p]!;
    }
  }
  return { n, height: CIFAR_SIZE, width: CIFAR_SIZE, data, labels };
}
