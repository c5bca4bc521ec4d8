import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultStore } from './store.ts';
import type { BenchConfig, DomainResult } from '../types.ts';

const config = {
  methods: ['source', 'tent'],
  settings: ['continual'],
  seeds: [1],
  corruptions: ['fog', 'snow'],
  n: 10,
} as unknown as BenchConfig;

function domain(method: string, domainIndex: number): DomainResult {
  return { method, setting: 'continual', seed: 1, domainIndex, corruption: 'fog', severity: 5, n: 10, errorPct: 10 * domainIndex, images: 10, ms: 5, imagesPerSec: 2000, batchErrorPct: [1], stats: {} };
}

test('store: finished domains survive a reopen; completed runs are assembled in config order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  try {
    const s = ResultStore.open(dir, config);
    s.saveDomain(domain('tent', 0));
    s.saveDomain(domain('tent', 1));
    s.saveRun({ method: 'tent', setting: 'continual', seed: 1, batchSize: 200, timeToFirstBatchMs: 42, domains: [] });
    s.saveDomain(domain('source', 0));
    const again = ResultStore.open(dir, config);
    assert.deepEqual([...again.done()].sort(), ['source|continual|s1|0', 'tent|continual|s1|0', 'tent|continual|s1|1']);
    const runs = again.runs(config, 2);
    assert.deepEqual(runs.map((r) => [r.method, r.batchSize, r.timeToFirstBatchMs, r.domains.map((d) => d.errorPct)]), [['tent', 200, 42, [0, 10]]]);
    // The first time to first batch is kept on resume.
    again.saveRun({ method: 'tent', setting: 'continual', seed: 1, batchSize: 200, timeToFirstBatchMs: 7, domains: [] });
    assert.equal(again.runs(config, 2)[0]!.timeToFirstBatchMs, 42);
    again.dropRun({ method: 'tent', setting: 'continual', seed: 1 });
    assert.deepEqual([...again.done()], ['source|continual|s1|0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store refuses an output folder of a different benchmark and names the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  try {
    ResultStore.open(dir, config);
    assert.throws(() => ResultStore.open(dir, { ...config, n: 20 }), /different benchmark \(n differ\)/);
    writeFileSync(join(dir, 'domains', 'x.json'), '{');
    assert.throws(() => ResultStore.open(dir, config).done(), /x\.json: not readable JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store: the latest checkpoint per run survives a reopen; a finished or dropped run loses it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  try {
    const s = ResultStore.open(dir, config);
    const tent = { method: 'tent', setting: 'continual' as const, seed: 1 };
    const state = { method: 'tent', hash: 'abc', values: [{ name: 'w', shape: [2], base64: 'AACAPwAAAEA=' }] };
    s.saveCheckpoint(tent, { domainIndex: 0, state });
    s.saveCheckpoint(tent, { domainIndex: 1, state });
    s.saveCheckpoint({ ...tent, method: 'source' }, { domainIndex: 0, state: { ...state, method: 'source' } });
    const again = ResultStore.open(dir, config);
    assert.deepEqual(again.checkpoints(), new Map([
      ['source|continual|s1', { domainIndex: 0, state: { ...state, method: 'source' } }],
      ['tent|continual|s1', { domainIndex: 1, state }],
    ]));
    again.saveRun({ ...tent, batchSize: 200, timeToFirstBatchMs: 1, domains: [] });
    again.dropRun({ ...tent, method: 'source' });
    assert.equal(again.checkpoints().size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
