/**
 * The benchmark page (bench.html): starts the benchmark worker when the CLI asks, forwards
 * its events to the CLI (window.benchEvent, exposed by Playwright) and returns the summary.
 */
import * as Comlink from 'comlink';
import type { BenchWorkerApi, WorkerRunResult } from './worker.ts';
import type { BenchEvent, RunCheckpoint } from './protocol.ts';
import type { BenchConfig } from './types.ts';

declare global {
  interface Window {
    benchEvent?: (e: BenchEvent) => void;
    webttaBench: { run(config: BenchConfig, done: string[], checkpoints: [string, RunCheckpoint][]): Promise<WorkerRunResult & PageInfo> };
  }
}

export interface PageInfo {
  userAgent: string;
  /** Full browser version (the user agent string carries only the major one). */
  browserVersion: string;
  hardwareConcurrency: number;
}

interface UaData {
  getHighEntropyValues(hints: string[]): Promise<{ fullVersionList?: { brand: string; version: string }[] }>;
}

async function browserVersion(): Promise<string> {
  const ua = (navigator as unknown as { userAgentData?: UaData }).userAgentData;
  const list = (await ua?.getHighEntropyValues(['fullVersionList']))?.fullVersionList ?? [];
  const entry = list.find((b) => /chrom/i.test(b.brand)) ?? list.find((b) => !/not.a.brand/i.test(b.brand));
  return entry ? `${entry.brand} ${entry.version}` : navigator.userAgent;
}

window.webttaBench = {
  async run(config, done, checkpoints) {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    const remote = Comlink.wrap<BenchWorkerApi>(worker);
    const emit = (e: BenchEvent) => window.benchEvent?.(e);
    try {
      const result = await remote.run(config, done, checkpoints, Comlink.proxy(emit));
      return { ...result, userAgent: navigator.userAgent, browserVersion: await browserVersion(), hardwareConcurrency: navigator.hardwareConcurrency };
    } finally {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    }
  },
};
document.body.dataset.ready = 'true';
