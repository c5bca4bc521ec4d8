/**
 * tfjs's WebGPU backend in Node through Dawn, the WebGPU implementation inside Chrome, from
 * the `webgpu` npm package (dawn.node). For `npm run perf -- --dawn DIR` on machines with a
 * hardware GPU and no browser (the lent GPU machines have neither Chromium nor a network).
 * Not a dependency of the project (130 MB, every platform's build): install it anywhere
 * with `npm i --no-save --prefix /tmp/dawn webgpu@0.6.2` and pass /tmp/dawn/node_modules/webgpu.
 * The numbers leave out what Chrome adds around Dawn (its GPU process and IPC per submit).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendInfo } from '../runtime/backend.ts';
import type { BackendRun, PagePerfConfig } from './page.ts';

interface DawnModule {
  create(flags: string[]): unknown;
  globals: Record<string, unknown>;
}

/** The `webgpu` package's version, or a clear error when DIR is not that package. */
export function dawnPackageVersion(dir: string): string {
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) throw new Error(`--dawn ${dir}: no package.json there; pass the folder of the 'webgpu' npm package (…/node_modules/webgpu)`);
  const meta = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
  if (meta.name !== 'webgpu') throw new Error(`--dawn ${dir}: package.json names '${meta.name}', not 'webgpu'`);
  return meta.version ?? '?';
}

/**
 * Installs Dawn's WebGPU globals (navigator.gpu, GPUBufferUsage, ...) and starts tfjs on it.
 * navigator.gpu has to exist before tfjs-backend-webgpu is first imported (it registers
 * itself only then), so callers import the runtime dynamically, after this; once per process.
 */
export async function initDawnWebgpu(dir: string): Promise<BackendInfo> {
  dawnPackageVersion(dir);
  const dawn = (await import(pathToFileURL(join(dir, 'index.js')).href)) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  // Node 21+ has a navigator of its own without gpu; Node 20 has none.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
  const { initBackend, isBackendRegistered } = await import('../runtime/backend.ts');
  if (!isBackendRegistered('webgpu')) {
    throw new Error('tfjs-backend-webgpu was loaded before navigator.gpu existed, so it did not register; import nothing that loads it (src/runtime/backend.ts, src/kernels/) before initDawnWebgpu');
  }
  return initBackend('webgpu');
}

/** Times the perf steps on tfjs WebGPU over Dawn (see initDawnWebgpu). */
export async function runDawnWebgpu(dir: string, modelPath: string, config: PagePerfConfig, say: (line: string) => void): Promise<BackendRun> {
  const info = await initDawnWebgpu(dir);
  const { timeModelCases } = await import('./steps.ts');
  return { info, ...(await timeModelCases(new Uint8Array(readFileSync(modelPath)), 'cifar10-resnet26', config, say)) };
}
