import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../../src/runtime/backend.ts';
import { TFJS_WASM_PATHS } from '../../src/runtime/wasm-paths.ts';

/** Initialise a backend and run a small seeded convolution on it. */
export async function convOn(choice: BackendChoice) {
  const cores = navigator.hardwareConcurrency;
  const info = await initBackend(choice, { wasmPaths: TFJS_WASM_PATHS });
  const out = tf.tidy(() => {
    const x = tf.randomUniform([1, 6, 6, 2], 0, 1, 'float32', 7);
    const w = tf.randomUniform([3, 3, 2, 3], -1, 1, 'float32', 8);
    return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same");
  });
  const values = Array.from(await out.data());
  out.dispose();
  return { info, values, isolated: crossOriginIsolated, cores, coresAfter: navigator.hardwareConcurrency };
}
