/**
 * The output folder as the benchmark's memory: config.json, one file per finished domain
 * and per run, and the latest adapted state of each unfinished continual run
 * (states/), so a rerun with the same --out skips what is done (resume).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { domainId, runId, type RunCheckpoint } from '../protocol.ts';
import type { BenchConfig, DomainResult, ForwardThroughput, RunKey, RunResult } from '../types.ts';

const fileKey = (k: RunKey) => `${k.method}__${k.setting}__s${k.seed}`;

/** Write-then-rename so an interrupted write never leaves a truncated result behind. */
function writeJson(path: string, value: unknown, indent: number | undefined = 1): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, indent)}\n`);
  renameSync(`${path}.tmp`, path);
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${path}: not readable JSON (${err instanceof Error ? err.message : String(err)}); delete it to redo that part`);
  }
}

/** Top-level config fields that differ between two configs. */
export function configDiff(a: BenchConfig, b: BenchConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof BenchConfig>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export class ResultStore {
  private readonly domainDir: string;
  private readonly runDir: string;
  private readonly stateDir: string;

  private constructor(readonly dir: string) {
    this.domainDir = join(dir, 'domains');
    this.runDir = join(dir, 'runs');
    this.stateDir = join(dir, 'states');
  }

  /** Open (or create) an output folder for this config; refuses a folder holding a different benchmark. */
  static open(dir: string, config: BenchConfig): ResultStore {
    const store = new ResultStore(dir);
    mkdirSync(store.domainDir, { recursive: true });
    mkdirSync(store.runDir, { recursive: true });
    mkdirSync(store.stateDir, { recursive: true });
    const path = join(dir, 'config.json');
    if (existsSync(path)) {
      const diff = configDiff(readJson<BenchConfig>(path), config);
      if (diff.length > 0) {
        throw new Error(`${dir} holds results of a different benchmark (${diff.join(', ')} differ): use another --out, or the same options to resume`);
      }
    } else {
      writeJson(path, config);
    }
    return store;
  }

  domains(): DomainResult[] {
    return readdirSync(this.domainDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readJson<DomainResult>(join(this.domainDir, f)));
  }

  /** domainId()s of the finished domains. */
  done(): Set<string> {
    return new Set(this.domains().map((d) => domainId(d, d.domainIndex)));
  }

  saveDomain(d: DomainResult): void {
    writeJson(join(this.domainDir, `${fileKey(d)}__d${d.domainIndex}.json`), d);
  }

  /** Forget a run's domains and state (a continual run restarting from its first domain). */
  dropRun(k: RunKey): void {
    for (const f of readdirSync(this.domainDir)) if (f.startsWith(`${fileKey(k)}__d`)) rmSync(join(this.domainDir, f));
    rmSync(join(this.stateDir, `${fileKey(k)}.json`), { force: true });
  }

  /** The latest state of a continual run (replacing the one before). */
  saveCheckpoint(k: RunKey, c: RunCheckpoint): void {
    writeJson(join(this.stateDir, `${fileKey(k)}.json`), c, undefined);
  }

  /** runId() -> saved state, for the runs that have one. */
  checkpoints(): Map<string, RunCheckpoint> {
    const out = new Map<string, RunCheckpoint>();
    for (const f of readdirSync(this.stateDir).filter((f) => f.endsWith('.json'))) {
      const [method, setting, seed] = f.slice(0, -'.json'.length).split('__');
      out.set(runId({ method: method!, setting: setting as RunKey['setting'], seed: Number(seed!.slice(1)) }), readJson<RunCheckpoint>(join(this.stateDir, f)));
    }
    return out;
  }

  /** Keeps the first measured time to first batch when a run is resumed; a finished run's state is dropped. */
  saveRun(r: RunResult): void {
    rmSync(join(this.stateDir, `${fileKey(r)}.json`), { force: true });
    const path = join(this.runDir, `${fileKey(r)}.json`);
    if (existsSync(path)) return;
    writeJson(path, { method: r.method, setting: r.setting, seed: r.seed, batchSize: r.batchSize, timeToFirstBatchMs: r.timeToFirstBatchMs });
  }

  saveForward(f: ForwardThroughput[]): void {
    writeJson(join(this.dir, 'forward.json'), f);
  }

  /** Completed runs (all their domains present), in config order. */
  runs(config: BenchConfig, domainsPerRun: number): RunResult[] {
    const byRun = new Map<string, DomainResult[]>();
    for (const d of this.domains()) {
      const id = runId(d);
      if (!byRun.has(id)) byRun.set(id, []);
      byRun.get(id)!.push(d);
    }
    const out: RunResult[] = [];
    for (const setting of config.settings) {
      for (const seed of config.seeds) {
        for (const method of config.methods) {
          const key = { method, setting, seed };
          const domains = (byRun.get(runId(key)) ?? []).sort((a, b) => a.domainIndex - b.domainIndex);
          const meta = join(this.runDir, `${fileKey(key)}.json`);
          if (domains.length !== domainsPerRun || !existsSync(meta)) continue;
          const { batchSize, timeToFirstBatchMs } = readJson<RunResult>(meta);
          out.push({ ...key, batchSize, timeToFirstBatchMs, domains });
        }
      }
    }
    return out;
  }
}
