import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, ClassificationTally, hScore, SegmentationTally, Throughput } from './index.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('auroc matches the hand-counted pair statistic', () => {
  // Pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) loss, (0.8, *) two wins -> 3/4.
  close(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
  // A tie counts one half: (1 vs 1) 0.5 + (2 vs 1) 1 -> 0.75.
  close(auroc([1, 1, 2], [true, false, true]), 0.75);
  close(auroc([3, 2, 1], [true, true, false]), 1);
  close(auroc([3, 2, 1], [false, false, true]), 0);
  assert.throws(() => auroc([1, 2], [true, true]), /both classes/);
});

test('classification tally: error on known images, AUROC and H-score on outliers', () => {
  const t = new ClassificationTally();
  // Known images: 3 of 4 right; the outlier's prediction is not scored.
  t.add([1, 2, 3, 0, 5], [1, 2, 3, 1, 0], [0, 0, 0, 0, 1], [0.1, 0.2, 0.9, 0.3, 0.8]);
  const s = t.summary();
  assert.equal(s.n, 4);
  assert.equal(s.correct, 3);
  close(s.errorPct, 25);
  assert.equal(s.outliers, 1);
  // Outlier score 0.8 beats 3 of the 4 known scores (0.1, 0.2, 0.3).
  close(s.auroc!, 0.75);
  close(s.hScore!, (2 * 0.75 * 0.75) / 1.5);
  close(hScore(0.5, 1), 2 / 3);
  assert.throws(() => t.add([1], [1, 2]), /differ in length/);
  assert.throws(() => t.add([1], [1], [0], [NaN]), /not finite/);
});

test('classification tally without outliers has no AUROC', () => {
  const t = new ClassificationTally();
  t.add(Int32Array.from([0, 1]), Int32Array.from([1, 1]));
  const s = t.summary();
  close(s.errorPct, 50);
  assert.equal(s.auroc, undefined);
  assert.ok(Number.isNaN(new ClassificationTally().summary().errorPct));
});

test('segmentation tally: confusion-matrix IoU with an ignore label', () => {
  const t = new SegmentationTally(3, 3);
  t.add([0, 1, 1, 1, 0, 2], [0, 0, 1, 1, 2, 3]);
  const s = t.summary();
  assert.equal(s.pixels, 5);
  close(s.pixelErrorPct, 40);
  // IoU: class 0 = 1/3, class 1 = 2/3, class 2 = 0/1.
  close(s.classIoU[0]!, 100 / 3, 1e-9);
  close(s.classIoU[1]!, 200 / 3, 1e-9);
  close(s.classIoU[2]!, 0);
  close(s.mIoU, 100 / 3, 1e-9);
  const absent = new SegmentationTally(4);
  absent.add([0, 1], [0, 1]);
  assert.ok(Number.isNaN(absent.summary().classIoU[3]!));
  close(absent.summary().mIoU, 100);
  assert.throws(() => t.add([0], [7]), /label 7 at pixel 0/);
});

test('throughput: images per second and time to first batch', () => {
  const t = new Throughput();
  t.add(64, 500);
  t.add(64, 300);
  const s = t.summary();
  close(s.imagesPerSec, 160);
  assert.equal(s.firstBatchMs, 500);
  assert.throws(() => t.add(-1, 5), /images >= 0/);
});
