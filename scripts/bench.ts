/**
 * npm run bench -- [options]   (see --help)
 *
 * Serves the app on 127.0.0.1, opens bench.html in headless Chromium, runs the protocol in
 * the page's worker and writes results.json, results.md and report.html to --out. Finished
 * domains are kept in --out as they complete; rerunning with the same --out resumes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from '../e2e/browser.ts';
import { parseArgs, USAGE } from '../src/bench/cli/args.ts';
import { Progress } from '../src/bench/cli/progress.ts';
import { resolveConfig } from '../src/bench/cli/resolve.ts';
import { serveBench } from '../src/bench/cli/serve.ts';
import { ResultStore } from '../src/bench/cli/store.ts';
import { domainId, domainOrder, planRuns, type BenchEvent, type RunCheckpoint } from '../src/bench/protocol.ts';
import type { BenchResults, Environment } from '../src/bench/types.ts';
import type { WorkerRunResult } from '../src/bench/worker.ts';
import type { PageInfo } from '../src/bench/page.ts';
import { renderHtml, renderMarkdown } from '../src/report/index.ts';
import { checkOverrides, expandMethods } from '../src/bench/methods.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Set on Ctrl-C: the closing browser's errors are then expected, not news. */
let interrupted = false;

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const { config, mounts } = resolveConfig(ROOT, opts, expandMethods(opts.methods));
  checkOverrides(config.overrides, config.model.methodDefaults);
  const outDir = resolve(opts.out ?? join(ROOT, 'bench-results', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(outDir, { recursive: true });
  const store = ResultStore.open(outDir, config);
  const progress = new Progress();
  const verbose = (m: string) => opts.verbose && progress.log(m);

  // Runs that stopped part-way go on from their saved state; those without a usable one restart: forget their partial results.
  const done = store.done();
  // Read once (a continual run's state can be several MB); a dropped run's state could not be used anyway.
  const checkpoints = store.checkpoints();
  for (const run of planRuns(config, done, checkpoints)) {
    const partial = run.domains.some((_, i) => done.has(domainId(run, i)));
    if (run.resume) {
      progress.log(`${run.method} ${run.setting} seed ${run.seed}: resuming after domain ${run.resume.domainIndex + 1} of ${run.domains.length}`);
    } else if (run.setting !== 'reset_each_shift' && run.todo.length === run.domains.length && partial) {
      progress.log(`${run.method} ${run.setting} seed ${run.seed}: interrupted part-way without a usable saved state; restarting from its first domain`);
      store.dropRun(run);
    }
  }
  const startedAt = new Date().toISOString();
  progress.log(`webtta bench: ${config.methods.join(', ')} | ${config.settings.join(', ')} | ${config.dataset.kind} (${config.corruptions.length} corruptions x severities ${config.severities.join(',')}, ${config.n} images each) | out ${outDir}`);

  const served = await serveBench({ root: ROOT, dev: opts.dev, port: opts.port, mounts, log: (m) => progress.log(m), verbose: opts.verbose });
  const browser = await launchChromium();
  const stop = async () => {
    await browser.close().catch(() => {});
    await served.close().catch(() => {});
  };
  process.once('SIGINT', () => {
    interrupted = true;
    progress.log(`\ninterrupted: finished domains are kept in ${outDir}; rerun with --out ${outDir} to resume`);
    void stop().then(() => process.exit(130));
  });
  let worker: WorkerRunResult & PageInfo;
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (err) => progress.log(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || opts.verbose) progress.log(`[page ${msg.type()}] ${msg.text()}`);
    });
    await page.exposeFunction('benchEvent', (e: BenchEvent) => {
      switch (e.type) {
        case 'log': verbose(e.message); break;
        case 'plan':
          progress.setTotal(e.totalImages);
          if (e.skippedImages > 0) progress.log(`resuming: ${e.skippedImages} images of finished domains skipped`);
          break;
        case 'progress': progress.update(e.images, `${e.run.method} ${e.run.setting} s${e.run.seed} ${e.corruption}-${e.severity}`); break;
        case 'domain':
          store.saveDomain(e.result);
          verbose(`${e.result.method} ${e.result.setting} s${e.result.seed} ${e.result.corruption}-${e.result.severity}: error ${e.result.errorPct.toFixed(1)}%, ${e.result.imagesPerSec.toFixed(1)} images/s`);
          break;
        case 'checkpoint': store.saveCheckpoint(e.run, e.checkpoint); break;
        case 'run': store.saveRun(e.result); break;
      }
    });
    await page.goto(`${served.url}/bench.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 120_000 });
    const resume: [typeof config, string[], [string, RunCheckpoint][]] = [config, [...store.done()], [...checkpoints]];
    worker = await page.evaluate(([c, d, k]) => window.webttaBench.run(c, d, k), resume);
  } finally {
    progress.finish();
    await stop();
  }

  store.saveForward(worker.forward);
  const domainsPerRun = domainOrder(config, config.seeds[0]!).length;
  const environment: Environment = {
    backend: worker.backend,
    userAgent: worker.userAgent,
    browserVersion: worker.browserVersion,
    hardwareConcurrency: worker.hardwareConcurrency,
    machine: { platform: process.platform, arch: process.arch, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, hostname: hostname() },
    gitCommit: gitCommit(),
  };
  const results: BenchResults = {
    schema: 'webtta-bench/1',
    config,
    model: { name: config.model.name, hash: worker.modelHash, card: config.model.card },
    environment,
    startedAt,
    finishedAt: new Date().toISOString(),
    runs: store.runs(config, domainsPerRun),
    forward: worker.forward,
  };
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const md = renderMarkdown(results);
  writeFileSync(join(outDir, 'results.md'), md);
  writeFileSync(join(outDir, 'report.html'), renderHtml(results));
  console.log(`\n${md}\nwrote ${join(outDir, 'results.json')}, results.md, report.html`);
}

main().catch((err: unknown) => {
  if (interrupted) return;
  console.error(`bench: ${err instanceof Error ? (process.env.DEBUG ? err.stack : err.message) : String(err)}`);
  process.exit(1);
});
