/**
 * npm run perf -- [options]   (see --help)
 *
 * Throughput of forward, Tent step and full-parameter step of the shipped CIFAR-10 model on
 * each tfjs backend in headless Chromium (cross-origin isolated, so wasm has threads), next to
 * PyTorch CPU (2 threads) and onnxruntime-web wasm forward, all in one run on this machine.
 * Writes JSON and a Markdown table (bench-results/perf-<date>.{json,md} by default).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parsePerfArgs, PERF_USAGE, type PerfOptions } from '../src/perf/args.ts';
import type { BackendRun, PagePerfConfig } from '../src/perf/page.ts';
import { dawnPackageVersion, runDawnWebgpu } from '../src/perf/dawn.ts';
import { renderPerfMarkdown, type PerfReport, type TorchResult } from '../src/perf/report.ts';
import type { ForwardThroughput } from '../src/bench/types.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = 'models/cifar10-resnet26';
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** PyTorch runs first and alone: a second busy process on 2 cores slows it 5-40x. */
function runTorch(opts: PerfOptions): PerfReport['torch'] {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  let version = '';
  const results: TorchResult[] = [];
  for (const threads of opts.torchThreads) {
    console.log(`PyTorch CPU baseline (${PYTHON}, ${threads} threads) ...`);
    const args = ['--weights', join(ROOT, `${MODEL}.pt`), '--batches', opts.batches.join(','), '--threads', String(threads), '--min-seconds', String(opts.minMs / 1000), '--max-iters', String(opts.maxIters)];
    const r = spawnSync(PYTHON, [join(ROOT, 'models/train/perf_torch.py'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (r.status !== 0) return { error: `perf_torch.py exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''}` };
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torch: string; threads: number; results: Omit<TorchResult, 'threads'>[] };
    version = parsed.torch;
    results.push(...parsed.results.filter((x) => opts.steps.includes(x.step)).map((x) => ({ ...x, threads: parsed.threads })));
  }
  return { version, results };
}

async function main(): Promise<void> {
  const opts = parsePerfArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(PERF_USAGE);
    return;
  }
  const date = new Date();
  const out = resolve(opts.out ?? join(ROOT, 'bench-results', `perf-${date.toISOString().replace(/[:.]/g, '-')}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const loadAvgStart = loadavg();
  const report: PerfReport = {
    date: date.toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: totalmem() / 2 ** 30, loadAvgStart, loadAvgEnd: [], node: process.version, commit: gitCommit() },
    backends: [],
    failedBackends: [],
  };
  if (opts.torch) report.torch = runTorch(opts);

  const config: PagePerfConfig = { modelUrl: `/${MODEL}.onnx`, batches: opts.batches, steps: opts.steps, minMs: opts.minMs, maxIters: opts.maxIters, maxStepMs: opts.maxStepMs };
  if (opts.dawn) await runDawn(opts.dawn, config, report);
  else await runBrowser(opts, config, report);
  report.machine.loadAvgEnd = loadavg();
  const md = renderPerfMarkdown(report);
  writeFileSync(out, JSON.stringify(report, null, 2));
  writeFileSync(out.replace(/\.json$/, '') + '.md', md);
  console.log(`\n${md}\nwrote ${out} and ${out.replace(/\.json$/, '')}.md`);
}

async function runDawn(dir: string, config: PagePerfConfig, report: PerfReport): Promise<void> {
  report.machine.browser = `no browser: Dawn in Node (webgpu npm ${dawnPackageVersion(dir)})`;
  console.log('tfjs webgpu (Dawn in Node) ...');
  try {
    report.backends.push(await runDawnWebgpu(dir, join(ROOT, `${MODEL}.onnx`), config, (line) => console.log(`  ${line}`)));
  } catch (err) {
    const error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    console.log(`  webgpu (Dawn) failed: ${error}`);
    report.failedBackends.push({ backend: 'webgpu (Dawn)', error });
  }
}

async function runBrowser(opts: PerfOptions, config: PagePerfConfig, report: PerfReport): Promise<void> {
  // Imported here: playwright and vite stay out of a --dawn run (its bundle for a GPU machine).
  const { launchChromium, startServer } = await import('../e2e/browser.ts');
  const { server, url } = await startServer();
  const browser = await launchChromium();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(3_600_000);
    await page.exposeFunction('perfEvent', (line: string) => console.log(`  ${line}`));
    report.machine.browser = `Chromium ${browser.context.browser()?.version() ?? ''}`.trim();
    const open = async () => {
      await page.goto(`${url}/perf.html`);
      await page.waitForFunction(() => 'webttaPerf' in window);
    };
    // Thread counts apply to wasm only; each run gets a fresh page (tfjs fixes them at start-up).
    const threadRuns: (number | undefined)[] = opts.wasmThreads.length ? opts.wasmThreads : [undefined];
    for (const backend of opts.backends) {
      for (const wasmThreads of backend === 'wasm' ? threadRuns : [undefined]) {
        const label = `${backend}${wasmThreads ? ` (${wasmThreads} threads)` : ''}`;
        console.log(`tfjs ${label} ...`);
        try {
          await open();
          const run = await page.evaluate(([b, c]) => window.webttaPerf.runBackend(b, c), [backend, { ...config, wasmThreads }] as const);
          report.backends.push(run as BackendRun);
        } catch (err) {
          const error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
          console.log(`  ${label} failed: ${error}`);
          report.failedBackends.push({ backend: label, error });
        }
      }
    }
    if (opts.ort && opts.steps.includes('forward')) {
      try {
        const ort: ForwardThroughput[] = [];
        for (const wasmThreads of threadRuns) {
          await open();
          ort.push(...(await page.evaluate((c) => window.webttaPerf.runOrt(c), { ...config, wasmThreads })));
        }
        report.ort = ort;
      } catch (err) {
        report.ort = { error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
