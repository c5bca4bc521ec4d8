import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { fileImageSource, sceneCropSource } from '../stream/file-sources.ts';
import { asOutliers, memorySource } from '../stream/source.ts';
import { buildStream } from '../stream/stream.ts';
import { readCifarBatchFile } from './node.ts';
import { encodeJpeg } from './corruptions/jpeg.ts';
import { decodeImageNode, decodeImageSync, encodePng } from './decode-node.ts';
import { nodeFileTree } from './files-node.ts';
import { listCamVid, listImageNetC, listLabelledFolder, parseLabelList, parseSynsetWords, readSegmentationPair } from './folders.ts';

const SHARED = new URL('../../../shared/data', import.meta.url).pathname;

test('CamVid pairs: 367/101/233 split sizes, label maps are class indices 0..11', async () => {
  const tree = nodeFileTree(join(SHARED, 'camvid'));
  const sizes = await Promise.all(['train', 'val', 'test'].map(async (s) => (await listCamVid(tree, '', s)).length));
  assert.deepEqual(sizes, [367, 101, 233]);
  const pairs = await listCamVid(tree, '', 'train');
  const p = await readSegmentationPair(tree, pairs[0]!, decodeImageNode);
  assert.equal(p.height, 120);
  assert.equal(p.width, 160);
  assert.equal(p.image.length, 160 * 120 * 3);
  const classes = new Set(p.label);
  assert.ok([...classes].every((c) => c <= 11) && classes.size >= 4, `classes ${[...classes]}`);
  // raw grey PNG bytes agree with pngjs's own decode of the label file
  const raw = PNG.sync.read(readFileSync(join(SHARED, 'camvid', pairs[0]!.label)));
  assert.equal(p.label[1000], raw.data[1000 * 4]);
  await assert.rejects(listCamVid(tree, '', 'nope'), /cannot list .*nope\/images/);
});

test('ImageNet-C folder layout and labelled folders with an explicit class list', async () => {
  const root = mkdtempSync(join(tmpdir(), 'inc-'));
  try {
    const wnids = parseSynsetWords(readFileSync(join(SHARED, 'imagenet-val-subset/synset_words.txt'), 'utf8'));
    assert.equal(wnids.length, 1000);
    assert.equal(wnids[0], 'n01440764');
    // fog/3 holds two classes (standard labels 1 and 2) with tiny JPEGs
    const rgba = new Uint8Array(40 * 48 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * 7) & 255));
    for (const w of [wnids[2]!, wnids[1]!]) {
      mkdirSync(join(root, 'fog', '3', w), { recursive: true });
      writeFileSync(join(root, 'fog', '3', w, 'a.JPEG'), encodeJpeg(rgba, 40, 48, 90));
      writeFileSync(join(root, 'fog', '3', w, 'b.JPEG'), encodeJpeg(rgba, 40, 48, 90));
      writeFileSync(join(root, 'fog', '3', w, 'notes.txt'), 'not an image');
    }
    const tree = nodeFileTree(root);
    const files = await listImageNetC(tree, '', 'fog', 3, wnids);
    assert.deepEqual(files.map((f) => f.label), [1, 1, 2, 2]);
    assert.equal(files[0]!.path, `fog/3/${wnids[1]}/a.JPEG`);
    // without the class list, labels are positions among the folders present (ImageFolder)
    assert.deepEqual((await listLabelledFolder(tree, 'fog/3')).map((f) => f.label), [0, 0, 1, 1]);
    await assert.rejects(listLabelledFolder(tree, 'fog/3', ['n00000001']), /class folder 'n01443537' is not in the class list/);
    await assert.rejects(listImageNetC(tree, '', 'fog', 7, wnids), /severity must be 1\.\.5, got 7/);
    const src = fileImageSource('fog-3', files, tree, decodeImageNode, 32, 32);
    const items = await src.get([3, 0]);
    assert.equal(items.images.length, 2 * 32 * 32 * 3);
    assert.deepEqual(Array.from(items.labels), [2, 1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('label list files (imagenet-val-subset) and scene crops as outliers', async () => {
  const list = parseLabelList(readFileSync(join(SHARED, 'imagenet-val-subset/labels_1000class.txt'), 'utf8'));
  assert.equal(list.length, 1300);
  assert.deepEqual(list[0], { path: 'images/ILSVRC2012_val_00000347.JPEG', label: 472 });
  assert.throws(() => parseLabelList('just-a-path\n'), /line 1: expected '<path>, <label>'/);
  const tree = nodeFileTree(join(SHARED, 'imagenet-val-subset'));
  const src = fileImageSource('inet', list.slice(0, 3), tree, decodeImageNode, 224, 224);
  const items = await src.get([0]);
  const direct = decodeImageSync(readFileSync(join(SHARED, 'imagenet-val-subset', list[0]!.path)), 'x');
  assert.equal(direct.height, 227);
  // 227 -> 224 resize keeps the mean colour
  const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(items.images) - mean(direct.data)) < 1);
  const cam = nodeFileTree(join(SHARED, 'camvid'));
  const crops = sceneCropSource('camvid-crops', await listCamVid(cam, '', 'test'), cam, decodeImageNode, 50, 32, 32, 1);
  const c = await crops.get([0, 1, 0]);
  assert.deepEqual(Array.from(c.labels), [-1, -1, -1]);
  assert.deepEqual(c.images.subarray(0, 3072), c.images.subarray(2 * 3072), 'crop i is fixed by the seed');
});

test('decoder errors name the file', () => {
  assert.throws(() => decodeImageSync(new Uint8Array([1, 2, 3, 4]), 'x.bin'), /x\.bin is neither PNG nor JPEG/);
  const png = encodePng({ height: 2, width: 2, data: new Uint8Array(12).fill(9) });
  assert.deepEqual(Array.from(decodeImageSync(png, 'p.png').data), new Array(12).fill(9));
  assert.throws(() => decodeImageSync(png.subarray(0, 30), 'cut.png'), /cannot decode PNG cut\.png/);
});

test('open-set stream: CIFAR inliers with ImageNet-subset images and CamVid crops resized to 32x32 as outliers', async () => {
  const cifar = readCifarBatchFile(join(SHARED, 'cifar10-test-lossless/test_canonical_0-999.bin'));
  const inliers = memorySource('cifar', { ...cifar, n: 60, data: cifar.data.subarray(0, 60 * 3072), labels: cifar.labels.subarray(0, 60) });
  const inetTree = nodeFileTree(join(SHARED, 'imagenet-val-subset'));
  const inet = asOutliers(fileImageSource('imagenet', parseLabelList(readFileSync(join(SHARED, 'imagenet-val-subset/labels_1000class.txt'), 'utf8')), inetTree, decodeImageNode, 32, 32));
  const cam = nodeFileTree(join(SHARED, 'camvid'));
  const crops = sceneCropSource('camvid', await listCamVid(cam, '', 'test'), cam, decodeImageNode, 233, 32, 32, 0);
  const s = await buildStream([{ name: 'clean', source: inliers }], { setting: 'continual', batchSize: 20, seed: 0, openSet: { share: 0.4, sources: [inet, crops] } });
  assert.equal(s.length, 100);
  let outliers = 0;
  for await (const b of s) {
    assert.equal(b.images.length, b.n * 3072);
    for (let k = 0; k < b.n; k++) {
      if (b.outlier[k]) outliers++;
      assert.equal(b.labels[k]! < 0, b.outlier[k] === 1);
    }
  }
  assert.equal(outliers, 40);
});
