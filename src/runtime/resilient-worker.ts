/// <reference lib="webworker" />
/**
 * Worker-side half of the restartable runtime (see client.ts):
 * - a Web Lock named after the worker, held for the worker's whole life: the browser frees
 *   it when the worker ends for any reason (terminate(), close(), a crash), and the page,
 *   queued on the same lock, learns of it at once - no heartbeat or timeout guesses;
 * - a lost WebGPU device is fatal to every tensor on it, so the worker reports it and
 *   ends; the page restarts it on another backend with the last saved state;
 * - fault injection for the reliability tests.
 */
import * as tf from '@tensorflow/tfjs';
import type { FatalMessage } from './fatal.ts';

function die(kind: FatalMessage['webttaFatal']['kind'], message: string): void {
  const msg: FatalMessage = { webttaFatal: { kind, message } };
  self.postMessage(msg);
  self.close();
}

let lockHeld: Promise<void> | undefined;

/** Resolves once the life lock (the worker's name) is held; the page starts watching after that. */
export function holdLifeLock(): Promise<void> {
  const name = self.name;
  if (!name) return Promise.reject(new Error('holdLifeLock: the worker was started without a name (new Worker(url, { name }))'));
  if (typeof navigator.locks === 'undefined') return Promise.reject(new Error('holdLifeLock: the Web Locks API is not available in this worker'));
  lockHeld ??= new Promise<void>((held) => {
    void navigator.locks.request(name, () => {
      held();
      return new Promise<never>(() => {});
    });
  });
  return lockHeld;
}

function webgpuDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  return (tf.backend() as unknown as { device?: GPUDevice }).device;
}

/** After the backend is chosen: a lost WebGPU device ends the worker with a report. */
export function watchDeviceLoss(): void {
  const device = webgpuDevice();
  if (!device) return;
  void device.lost.then((info) => die('device-lost', `WebGPU device lost (${info.reason || 'unknown reason'}): ${info.message || 'no message'}`));
}

/** Test hooks: end the worker from inside, or destroy its WebGPU device (as a driver reset would). */
export function simulateFault(kind: 'exit' | 'device-lost'): void {
  if (kind === 'exit') {
    // After this call has answered, so the test sees the end as an event, not as this call's failure.
    setTimeout(() => die('exit', 'worker ended itself (simulated crash)'), 0);
    return;
  }
  const device = webgpuDevice();
  if (!device) throw new Error(`simulateFault('device-lost'): the backend is ${tf.getBackend()}, not webgpu`);
  device.destroy();
}
