import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { parseCifarBatch } from '../src/data/cifar.ts';
import { contactSheet } from '../src/data/contact-sheet.ts';
import { ALL_CORRUPTIONS, BENCHMARK_CORRUPTIONS, corrupt, corruptionRng, type Severity } from '../src/data/corruptions/index.ts';
import { decodeImageSync, encodePng } from '../src/data/decode-node.ts';
import { loadFrostOverlaysFromDisk } from '../src/data/node.ts';
import { imageFromUint8, imageToUint8 } from '../src/data/image.ts';
import { corruptionFileHeader, corruptRange } from '../src/data/cifar10c.ts';
import { corruptedSource, memorySource } from '../src/stream/source.ts';
import { buildStream } from '../src/stream/stream.ts';
import { openPage, ROOT, SHARED_DATA, sharedDataUrl, type BrowserSession } from './browser.ts';

const CIFAR_REL = 'cifar10-test-lossless/test_canonical_0-999.bin';
const cifar = parseCifarBatch(new Uint8Array(readFileSync(join(SHARED_DATA, CIFAR_REL))));
let s: BrowserSession;
before(async () => {
  s = await openPage('corruptions');
});
after(async () => s?.close());

test('corruptions give the same bytes in the browser as in Node; contact sheet artifact', async () => {
  const index = 7;
  const seed = 11;
  const r = await s.call<{ b64: string; ms: number; frostSizes: number[][] }>('corruptOne', sharedDataUrl(CIFAR_REL), index, seed);
  const browser = new Uint8Array(Buffer.from(r.b64, 'base64'));
  assert.deepEqual(r.frostSizes, [[600, 900], [315, 560], [315, 560], [350, 527], [495, 660]]);
  const frost = await loadFrostOverlaysFromDisk();
  const clean = cifar.data.slice(index * 3072, (index + 1) * 3072);
  ALL_CORRUPTIONS.forEach((name, c) => {
    for (let sev = 1; sev <= 5; sev++) {
      const node = imageToUint8(corrupt(name, imageFromUint8(clean, 32, 32), sev as Severity, { rng: corruptionRng(seed, name, sev as Severity, index), frost }));
      const k = (c * 5 + sev - 1) * 3072;
      assert.deepEqual(browser.subarray(k, k + 3072), node, `${name} severity ${sev}: browser and Node bytes differ`);
    }
  });
  // 15 benchmark corruptions x (clean + 5 severities), 4x enlarged, for a person to look at
  const rows = BENCHMARK_CORRUPTIONS.map((name) => {
    const c = ALL_CORRUPTIONS.indexOf(name);
    return [clean, ...[0, 1, 2, 3, 4].map((k) => browser.slice((c * 5 + k) * 3072, (c * 5 + k + 1) * 3072))];
  });
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, 'test-results/corruptions-contact-sheet.png'), encodePng(contactSheet(rows, 32, 32, 4)));
  const extra = ALL_CORRUPTIONS.slice(15).map((_, e) => [clean, ...[0, 1, 2, 3, 4].map((k) => browser.slice(((15 + e) * 5 + k) * 3072, ((15 + e) * 5 + k + 1) * 3072))]);
  writeFileSync(join(ROOT, 'test-results/corruptions-extra-contact-sheet.png'), encodePng(contactSheet(extra, 32, 32, 4)));
  // Read back: rows = the 15 benchmark (4 extra) corruptions, columns = clean + severities 1..5,
  // 128 px cells (32 px at 4x) 2 px apart.
  const sheets = [['corruptions-contact-sheet.png', rows, 15], ['corruptions-extra-contact-sheet.png', extra, 4]] as const;
  for (const [file, grid, corruptions] of sheets) {
    const png = PNG.sync.read(readFileSync(join(ROOT, 'test-results', file)));
    assert.deepEqual([png.width, png.height], [6 * 130 + 2, corruptions * 130 + 2], file);
    // Pixel (17, 5) of every image is the top-left of its 4x4 block in the image's cell.
    grid.forEach((row, r) =>
      row.forEach((img, c) => {
        const at = ((2 + r * 130 + 17 * 4) * png.width + 2 + c * 130 + 5 * 4) * 4;
        assert.deepEqual(Array.from(png.data.subarray(at, at + 3)), Array.from(img.subarray((17 * 32 + 5) * 3, (17 * 32 + 5) * 3 + 3)), `${file} cell (${r}, ${c})`);
      }),
    );
  }
  console.log(`# browser: 19 corruptions x 5 severities of one 32x32 image in ${r.ms.toFixed(0)} ms`);
});

test("browser decoders: PNG bytes exactly as pngjs (label maps stay indices), JPEG close to jpeg-js", async () => {
  const label = 'camvid/train/labels/0001TP_006690.png';
  const lb = await s.call<{ height: number; width: number; b64: string }>('decodeWithBrowser', sharedDataUrl(label));
  const raw = PNG.sync.read(readFileSync(join(SHARED_DATA, label)));
  assert.equal(lb.height, 120);
  const data = Buffer.from(lb.b64, 'base64');
  for (let p = 0; p < 120 * 160; p++) assert.equal(data[p * 3], raw.data[p * 4], `label pixel ${p}`);
  const image = 'camvid/train/images/0001TP_006690.png';
  const im = await s.call<{ b64: string }>('decodeWithBrowser', sharedDataUrl(image));
  assert.deepEqual(new Uint8Array(Buffer.from(im.b64, 'base64')), decodeImageSync(readFileSync(join(SHARED_DATA, image)), image).data);
  const jpg = 'imagenet-val-subset/images/ILSVRC2012_val_00000347.JPEG';
  const bj = new Uint8Array(Buffer.from((await s.call<{ b64: string }>('decodeWithBrowser', sharedDataUrl(jpg))).b64, 'base64'));
  const nj = decodeImageSync(readFileSync(join(SHARED_DATA, jpg)), jpg).data;
  assert.equal(bj.length, nj.length);
  const mad = bj.reduce((a, v, k) => a + Math.abs(v - nj[k]!), 0) / bj.length;
  assert.ok(mad < 2, `mean abs difference browser vs jpeg-js JPEG decode: ${mad}`);
});

test('labelled folder read from the origin-private file system', async () => {
  const png = encodePng({ height: 8, width: 8, data: new Uint8Array(192).map((_, k) => (k * 5) & 255) });
  const r = await s.call<{ paths: string[]; labels: number[]; first: number[] }>('opfsFolder', Buffer.from(png).toString('base64'));
  assert.deepEqual(r.paths, ['cat/1.png', 'cat/2.png', 'dog/1.png', 'dog/2.png']);
  assert.deepEqual(r.labels, [1, 0]);
  assert.deepEqual(r.first, [0, 5, 10, 15, 20, 25]);
});

test('a reset_each_shift stream built in the page equals the one built in Node', async () => {
  const browser = await s.call<{ n: number; reset: boolean; labels: number[]; sum: number }[]>('streamSummary', sharedDataUrl(CIFAR_REL));
  const clean = memorySource('clean', { ...cifar, n: 40, data: cifar.data.subarray(0, 40 * 3072), labels: cifar.labels.subarray(0, 40) });
  const domains = (['gaussian_noise', 'fog'] as const).map((c) => ({ name: c, source: corruptedSource(clean, c, 5, { seed: 1 }) }));
  const node = [];
  for await (const b of await buildStream(domains, { setting: 'reset_each_shift', batchSize: 16, seed: 2 })) {
    node.push({ n: b.n, reset: b.reset, labels: Array.from(b.labels), sum: b.images.reduce((a, v) => a + v, 0) });
  }
  assert.deepEqual(browser.map((b) => b.n), [16, 16, 8, 16, 16, 8]);
  assert.deepEqual(browser.map((b) => b.reset), [true, false, false, true, false, false]);
  assert.deepEqual(browser, node);
});

test('official-layout .npy read lazily over HTTP Range requests in the page', async () => {
  const n = 10;
  const clean = { ...cifar, n, data: cifar.data.subarray(0, n * 3072), labels: cifar.labels.subarray(0, n) };
  const frost = await loadFrostOverlaysFromDisk();
  const body = [1, 2, 3, 4, 5].map((sev) => corruptRange(clean, 'fog', sev as Severity, 0, n, 3, frost));
  const file = new Uint8Array([...corruptionFileHeader(n), ...body.flatMap((b) => Array.from(b))]);
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, 'test-results/e2e-fog.npy'), file);
  const r = await s.call<{ size: number; labels: number[]; b64: string }>('npyOverHttp', '/test-results/e2e-fog.npy', Array.from(clean.labels), 4, [3, 4, 9]);
  assert.equal(r.size, n);
  assert.deepEqual(r.labels, [3, 4, 9].map((i) => clean.labels[i]!));
  const got = new Uint8Array(Buffer.from(r.b64, 'base64'));
  assert.deepEqual(got.subarray(0, 2 * 3072), body[3]!.subarray(3 * 3072, 5 * 3072));
  assert.deepEqual(got.subarray(2 * 3072), body[3]!.subarray(9 * 3072, 10 * 3072));
});
