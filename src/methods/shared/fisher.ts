/**
 * EATA's diagonal Fisher information: mean over source batches of the squared gradient of the
 * batch-mean cross-entropy against the model's own argmax labels, plus the parameter values
 * it was taken at (the anchor of the anti-forgetting penalty).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaptableModel } from '../../model/types.ts';
import { crossEntropy } from './entropy.ts';
import { disposeAll, lossAndGrads } from './tensors.ts';

/** Clean source images in batches; the consumer disposes each yielded batch. */
export type SourceDataProvider = (batchSize: number, maxImages: number) => AsyncIterable<tf.Tensor4D>;

export interface Fisher {
  /** Per-variable Fisher diagonal, in the order of the variables given. */
  readonly fisher: tf.Tensor[];
  /** Parameter values when the Fisher was computed. */
  readonly anchor: tf.Tensor[];
  readonly batches: number;
  dispose(): void;
}

export async function computeFisher(model: AdaptableModel, vars: readonly tf.Variable[], source: SourceDataProvider, batchSize: number, maxImages: number): Promise<Fisher> {
  let sums: tf.Tensor[] | undefined;
  let batches = 0;
  for await (const images of source(batchSize, maxImages)) {
    const { loss, grads } = lossAndGrads(vars, () =>
      tf.tidy(() => {
        const logits = model.forward(images).logits as tf.Tensor2D;
        if (logits.rank !== 2) throw new Error(`Fisher: classification logits [N, C] expected, got [${logits.shape}]`);
        return crossEntropy(logits, tf.argMax(logits, 1) as tf.Tensor1D);
      }),
    );
    images.dispose();
    const squared = grads.map((g) => tf.square(g));
    if (sums) {
      const next = sums.map((s, i) => tf.add(s, squared[i]!));
      disposeAll([...sums, ...squared]);
      sums = next;
    } else {
      sums = squared;
    }
    disposeAll([loss, ...grads]);
    batches++;
  }
  if (!sums || batches === 0) throw new Error('Fisher: the source-data provider yielded no batches');
  const n = batches;
  const fisher = sums.map((s) => tf.div(s, n));
  disposeAll(sums);
  const anchor = vars.map((v) => tf.clone(v));
  return { fisher, anchor, batches, dispose: () => disposeAll([...fisher, ...anchor]) };
}

/** Source provider over an in-memory image tensor [N, H, W, 3] (tests, small fixtures). */
export function tensorSource(images: tf.Tensor4D): SourceDataProvider {
  return async function* (batchSize: number, maxImages: number) {
    const n = Math.min(images.shape[0], maxImages);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      yield tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
    }
  };
}
