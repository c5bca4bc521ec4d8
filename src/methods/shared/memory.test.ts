import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CstuMemory, ClassBalancedFifo } from './memory.ts';
import { Rng } from '../../util/rng.ts';
import { useCpuBackend } from '../testing/backend.ts';

before(useCpuBackend);

/** A 1x1 image whose value identifies it. */
const img = (id: number) => tf.fill([1, 1, 3], id) as tf.Tensor3D;
const ids = (images: tf.Tensor3D[]) => images.map((t) => t.dataSync()[0]);

test('CSTU: fills per class, evicts the highest timeliness+uncertainty score of the class, rejects worse newcomers', () => {
  const mem = new CstuMemory({ capacity: 4, numClasses: 2 });
  [[1, 0, 0.1], [2, 0, 0.2], [3, 1, 0.3], [4, 1, 0.4]].forEach(([id, c, u]) => assert.ok(mem.add(img(id!), c!, u!)));
  // Ages now 4, 3, 2, 1. Scores sigmoid(age/4) + u/ln2: id1 0.7311+0.1443 = 0.8754, id2 0.6792+0.2885 = 0.9677.
  assert.ok(Math.abs(mem.score(3, 0.2) - (1 / (1 + Math.exp(-0.75)) + 0.2 / Math.log(2))) < 1e-12);
  assert.ok(mem.add(img(5), 0, 0), 'newcomer score 0.5 beats id2 (0.9677), the worst of its full class');
  assert.deepEqual(ids(mem.items().images), [1, 5, 3, 4]);
  assert.deepEqual(mem.items().ages, [5 / 4, 1 / 4, 3 / 4, 2 / 4]);
  assert.equal(mem.add(img(6), 1, 1.0), false, 'score 0.5 + 1/ln2 = 1.94 exceeds every item of class 1: rejected');
  assert.deepEqual(ids(mem.items().images), [1, 5, 3, 4]);
  assert.deepEqual(mem.items().ages, [6 / 4, 2 / 4, 4 / 4, 3 / 4], 'ages grow on every offer, admitted or not');
  mem.clear();
  assert.equal(mem.occupancy, 0);
});

test('CSTU: a class under quota in a full memory takes the place of the worst item of the majority classes', () => {
  const mem = new CstuMemory({ capacity: 4, numClasses: 3 }); // quota 4/3: two items per class allowed
  [[1, 0, 0.5], [2, 0, 0.1], [3, 1, 0.2], [4, 1, 0.1]].forEach(([id, c, u]) => mem.add(img(id!), c!, u!));
  assert.deepEqual(mem.perClassCounts(), [2, 2, 0]);
  // Majority classes 0 and 1; scores id1 s(4)+0.5/ln3, id2 s(3)+0.1/ln3, id3 s(2)+0.2/ln3, id4 s(1)+0.1/ln3: id1 is the worst.
  assert.ok(mem.add(img(9), 2, 0.3));
  assert.deepEqual(ids(mem.items().images), [2, 3, 4, 9]);
  assert.throws(() => mem.add(img(1), 3, 0), /label 3 outside \[0, 3\)/);
  mem.clear();
});

test('STAMP FIFO: evicts the oldest item of the class with the highest EMA count', () => {
  const fifo = new ClassBalancedFifo(3, 2, new Rng(0));
  fifo.append([img(1), img(2), img(3)], [0, 0, 1]);
  assert.deepEqual(ids(fifo.read()), [1, 2, 3]); // counts 0.2, 0.1
  fifo.append([img(4)], [1]);
  assert.deepEqual(ids(fifo.read()), [2, 3, 4], 'class 0 had the higher count: its oldest (1) left'); // counts 0.28, 0.29
  assert.ok(Math.abs(fifo.classCounts()[0]! - 0.28) < 1e-12 && Math.abs(fifo.classCounts()[1]! - 0.29) < 1e-12);
  fifo.append([img(5)], [0]);
  assert.deepEqual(ids(fifo.read()), [2, 5, 4], 'now class 1 leads: its oldest (3) left');
  assert.equal(fifo.size, 3);
  const n = tf.memory().numTensors;
  fifo.append([img(6)], [1]);
  assert.equal(tf.memory().numTensors, n + 1, 'the evicted copy is disposed (only the test image is new)');
  fifo.clear();
});
