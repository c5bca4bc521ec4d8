import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCifarBatch } from './cifar.ts';
import { corruptRange, readCifar10C } from './cifar10c.ts';
import { loadFrostOverlaysFromDisk } from './node.ts';
import { npyHeaderBytes, readNpy, toNumbers } from './npy.ts';
import { fileByteSource } from './files-node.ts';
import { blobByteSource } from './files.ts';
import { npyCorruptionSource } from '../stream/file-sources.ts';
import { corruptedSource, memorySource } from '../stream/source.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CIFAR_DIR = join(ROOT, '../shared/data/cifar10');

test('CIFAR-10 binary reader: layout, labels, errors', () => {
  const b = parseCifarBatch(new Uint8Array(readFileSync(new URL('../../../shared/data/cifar10-test-lossless/test_canonical_0-999.bin', import.meta.url).pathname)));
  assert.equal(b.n, 1000);
  // official test labels 0..9: cat ship ship airplane frog frog automobile frog cat automobile
  assert.deepEqual(Array.from(b.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  const raw = readFileSync(new URL('../../../shared/data/cifar10-test-lossless/test_canonical_0-999.bin', import.meta.url).pathname);
  // pixel (row 5, col 7) of image 2: R at 1 + 5*32+7, G at +1024, B at +2048 of record 2
  const rec = 2 * 3073 + 1 + 5 * 32 + 7;
  assert.deepEqual(Array.from(b.data.subarray(2 * 3072 + (5 * 32 + 7) * 3, 2 * 3072 + (5 * 32 + 7) * 3 + 3)), [raw[rec], raw[rec + 1024], raw[rec + 2048]]);
  assert.throws(() => parseCifarBatch(new Uint8Array(3074), 'x.bin'), /x\.bin: 3074 bytes is not a whole number of 3073-byte/);
  const bad = new Uint8Array(3073);
  bad[0] = 42;
  assert.throws(() => parseCifarBatch(bad, 'y.bin'), /y\.bin: record 0 has label 42/);
});

test('make-cifar10c writes the official layout and round-trips byte for byte', async () => {
  const out = mkdtempSync(join(tmpdir(), 'c10c-'));
  try {
    const names = ['fog', 'jpeg_compression', 'frost'];
    const log = execFileSync('node', ['--import', 'tsx', join(ROOT, 'scripts/make-cifar10c.ts'), '--cifar', CIFAR_DIR, '--out', out, '--n', '24', '--seed', '7', '--only', names.join(','), '--workers', '2'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(log, /\[make-cifar10c\] 15\/15 chunks/);
    assert.match(log, /wrote 3 corruptions x 5 severities x 24 images/);
    const clean = parseCifarBatch(new Uint8Array(readFileSync(join(CIFAR_DIR, 'test_batch.bin'))).subarray(0, 24 * 3073));
    const labels = readNpy(new Uint8Array(readFileSync(join(out, 'labels.npy'))), 'labels.npy');
    assert.deepEqual(labels.header.shape, [120]);
    assert.deepEqual(toNumbers(labels.data), [0, 1, 2, 3, 4].flatMap(() => Array.from(clean.labels)));
    const frost = await loadFrostOverlaysFromDisk();
    for (const name of names) {
      const file = new Uint8Array(readFileSync(join(out, `${name}.npy`)));
      const arr = readNpy(file, name);
      assert.equal(arr.header.dtype, '|u1');
      assert.deepEqual(arr.header.shape, [120, 32, 32, 3]);
      for (const s of [1, 3, 5] as const) {
        const sev = readCifar10C(file, new Uint8Array(readFileSync(join(out, 'labels.npy'))), s, name);
        // Same bytes as corrupting in-process (one chunk of 24 rather than the script's split)...
        assert.deepEqual(sev.data, corruptRange(clean, name as 'fog', s, 0, 24, 7, frost), `${name} s${s}`);
        // ...as reading image by image through the lazy .npy source...
        const src = await npyCorruptionSource(name, fileByteSource(join(out, `${name}.npy`)), Int32Array.from(toNumbers(labels.data)), s);
        const some = await src.get([23, 0, 1, 2, 9]);
        assert.deepEqual(some.images.subarray(0, 3072), sev.data.subarray(23 * 3072, 24 * 3072));
        assert.deepEqual(some.images.subarray(3072, 4 * 3072), sev.data.subarray(0, 3 * 3072));
        assert.deepEqual(Array.from(some.labels), [23, 0, 1, 2, 9].map((i) => clean.labels[i]!));
        // ...through a Blob (a File the user picked in the browser)...
        const blobSrc = await npyCorruptionSource(name, blobByteSource(new Blob([file])), Int32Array.from(toNumbers(labels.data)), s);
        assert.deepEqual((await blobSrc.get([7, 8])).images, sev.data.subarray(7 * 3072, 9 * 3072));
        // ...and as corrupting on the fly in a stream source.
        const fly = await corruptedSource(memorySource('clean', clean), name as 'fog', s, { seed: 7, frost, params: 'cifar' }).get([5, 6]);
        assert.deepEqual(fly.images, sev.data.subarray(5 * 3072, 7 * 3072));
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('make-cifar10c refuses an image count below 1 or not an integer before writing anything', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'c10c-')), 'out');
  try {
    for (const n of ['0', '-3', '2.5', 'ten']) {
      const r = spawnSync('node', ['--import', 'tsx', join(ROOT, 'scripts/make-cifar10c.ts'), '--cifar', CIFAR_DIR, '--out', out, '--n', n], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 1, `--n ${n}`);
      assert.equal(r.stderr, `make-cifar10c: --n must be a positive integer, got '${n}'\n`);
      assert.ok(!existsSync(out), `--n ${n} created ${out}`);
    }
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
});

test('readCifar10C refuses files that are not in the layout', () => {
  const labels = new Uint8Array(readFileSync(join(ROOT, 'src/data/npy.ts'))); // any non-npy bytes
  assert.throws(() => readCifar10C(labels, labels, 1, 'notes.npy'), /notes\.npy: not a \.npy file/);
  const wrongShape = new Uint8Array([...npyHeaderBytes('|u1', [10, 32, 32]), ...new Uint8Array(10 * 32 * 32)]);
  assert.throws(() => readCifar10C(wrongShape, labels, 1, 'w.npy'), /w\.npy: expected uint8 \[5\*N, 32, 32, 3\] \(CIFAR-10-C layout\), got \|u1 \(10, 32, 32\)/);
  // The official layout in every respect but the memory order ('True ' over 'False' keeps the header length).
  const good = new Uint8Array([...npyHeaderBytes('|u1', [5, 32, 32, 3]), ...new Uint8Array(5 * 3072)]);
  const okLabels = new Uint8Array([...npyHeaderBytes('|u1', [5]), 0, 1, 2, 3, 4]);
  assert.equal(readCifar10C(good, okLabels, 1, 'c.npy').n, 1);
  const fortran = good.slice();
  fortran.set(Array.from('True ', (c) => c.charCodeAt(0)), String.fromCharCode(...good.subarray(0, 128)).indexOf('False'));
  assert.throws(() => readCifar10C(fortran, okLabels, 1, 'f.npy'), /f\.npy: fortran_order=True is not the CIFAR-10-C layout/);
});
