import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evalClassifier, evalSegmenter, loadLabelledList, type LabelledImages } from './card-eval.ts';

await tf.setBackend('cpu');

/** n images of h x w whose pixel (0,0) red value encodes the image index. */
function images(n: number, h: number, w: number, labels: ArrayLike<number>): LabelledImages {
  const data = new Uint8Array(n * h * w * 3);
  for (let i = 0; i < n; i++) data[i * h * w * 3] = i;
  return { n, height: h, width: w, data, labels };
}

test('evalClassifier counts top-1 and top-5 hits over batches, without leaking tensors', async () => {
  // Logits: class k scores -|k - 2i| for image i, so the ranking is 2i, 2i±1, 2i±2, ...
  const forward = (x: tf.Tensor4D) => {
    const idx = x.slice([0, 0, 0, 0], [-1, 1, 1, 1]).reshape([-1, 1]).mul(255).round();
    return tf.range(0, 10).reshape([1, 10]).sub(idx.mul(2)).abs().neg();
  };
  // image 0: top1 0; image 1: top1 2; image 2: top1 4 (label 6 is rank 2 -> top5); image 3: label 0 not in top5 (6,5,7,4,8)
  const set = images(4, 2, 3, [0, 2, 6, 0]);
  const before = tf.memory().numTensors;
  const r = await evalClassifier(forward, set, [2, 3], 3);
  assert.deepEqual({ count: r.count, top1: r.top1, top5: r.top5 }, { count: 4, top1: 2, top5: 3 });
  assert.deepEqual(r.predictions, [0, 2, 4, 6]);
  assert.equal(tf.memory().numTensors, before);
});

test('evalClassifier resizes to the model input and rejects bad logits and labels', async () => {
  let seen: number[] = [];
  const forward = (x: tf.Tensor4D) => ((seen = x.shape), tf.zeros([x.shape[0], 3]));
  await evalClassifier(forward, images(2, 5, 7, [0, 0]), [4, 4]);
  assert.deepEqual(seen, [2, 4, 4, 3]);
  await assert.rejects(evalClassifier(() => tf.zeros([1, 3]), images(2, 2, 2, [0, 0]), [2, 2]), /logits have shape \[1,3\], expected \[2, classes\]/);
  await assert.rejects(evalClassifier(forward, images(2, 2, 2, [0]), [2, 2]), /labels: 1 values, 2 images need 2/);
});

test('evalSegmenter gives the hand-computed mIoU with an ignored label', async () => {
  // One 1x4 image, prediction [0, 0, 1, 1] (NHWC logits), labels [0, 1, 1, 9=ignore]:
  // class 0: tp 1, fp 1 -> IoU 1/2; class 1: tp 1 (pixel 2), fn 1 (pixel 1) -> IoU 1/2... pixel 3 ignored.
  const logits = tf.tensor4d([1, 0, 1, 0, 0, 1, 0, 1], [1, 1, 4, 2]);
  const s = await evalSegmenter(() => logits.clone(), images(1, 1, 4, [0, 1, 1, 9]), 2, 9);
  assert.equal(s.mIoU, 50);
  assert.equal(s.pixels, 3);
  assert.ok(Math.abs(s.pixelErrorPct - 100 / 3) < 1e-9);
  await assert.rejects(evalSegmenter(() => tf.zeros([1, 1, 4, 3]), images(1, 1, 4, [0, 1, 1, 9]), 2, 9), /expected \[1,1,4,2\]/);
  logits.dispose();
});

test('loadLabelledList names the file and line of a malformed entry', async () => {
  const read = async (p: string) => new TextEncoder().encode(p.endsWith('list.txt') ? 'a.png, 3\nb.png three\n' : '');
  await assert.rejects(loadLabelledList(read, 'dir', 'list.txt', async () => ({ height: 1, width: 1, data: new Uint8Array(3) })), /dir\/list\.txt line 2: expected "<path>, <label>"/);
});
