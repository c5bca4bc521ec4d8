import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainId, domainOrder, planRuns, runId, runProtocol, type Adapter, type BenchEvent, type DataSource, type RunCheckpoint } from './protocol.ts';
import type { BenchConfig } from './types.ts';

function config(over: Partial<BenchConfig> = {}): BenchConfig {
  return {
    model: { name: 'm', format: 'onnx', url: '/m', task: 'classification', inputShape: [1, 1, 3], numClasses: 3, methodDefaults: 'cifar10' },
    methods: ['a'],
    settings: ['continual'],
    dataset: { kind: 'cifar10c', url: '/d', source: 'd' },
    corruptions: ['fog', 'snow'],
    order: 'given',
    severities: [5],
    n: 5,
    batchSizes: { a: 2, b: 2 },
    seeds: [1],
    backend: 'cpu',
    overrides: {},
    ortBaseline: false,
    forwardBatches: 1,
    forwardBatchSize: 2,
    ...over,
  };
}

/** Image i of every domain is one pixel whose red value is i; its label is i % 3. */
const data: DataSource = {
  async domain(corruption, severity) {
    const labels = Int32Array.from({ length: 6 }, (_, i) => i % 3);
    return {
      name: `${corruption}-${severity}`, size: 6, height: 1, width: 1,
      labels: async () => labels,
      async get(indices) {
        const images = new Uint8Array(indices.length * 3);
        indices.forEach((i, k) => (images[3 * k] = i));
        return { images, labels: Int32Array.from(indices, (i) => labels[i]!) };
      },
    };
  },
};

/** For adapters whose state does not matter to a test. */
const stateless = {
  save: async () => ({ method: 'a', hash: '', values: [] }),
  restore: async () => {},
};

/** Predicts the label right on 'fog' and always 0 on 'snow'; counts resets and steps. */
function fakeAdapter(log: string[]): Adapter {
  let steps = 0;
  return {
    ...stateless,
    async reset() {
      log.push(`reset@${steps}`);
    },
    async step(images) {
      steps++;
      const n = images.shape[0];
      const reds = Array.from({ length: n }, (_, k) => Math.round(images.data[3 * k]! * 255));
      // The stream's domain is visible only through the order: fog's 3 batches come first.
      const onFog = steps <= 3 || (steps > 6 && steps <= 9);
      return { labels: reds.map((r) => (onFog ? r % 3 : 0)), stats: { loss: steps } };
    },
  };
}

test('continual: one reset per run, error per domain and per batch, events in order', async () => {
  const events: BenchEvent[] = [];
  const log: string[] = [];
  await runProtocol(config(), { data, createAdapter: async () => fakeAdapter(log), emit: (e) => events.push(e) });
  assert.deepEqual(log, ['reset@0']);
  const domains = events.filter((e) => e.type === 'domain').map((e) => e.result);
  assert.equal(domains.length, 2);
  // fog: all right. snow: labels 0,1,2,0,1 predicted 0 -> 3 of 5 wrong.
  assert.equal(domains[0]!.errorPct, 0);
  assert.equal(domains[1]!.errorPct, 60);
  // snow batches: [0,1] -> 50%, [2,3] -> 50%, [4] -> 100%.
  assert.deepEqual(domains[1]!.batchErrorPct, [50, 50, 100]);
  assert.deepEqual(domains[1]!.stats, { loss: (4 + 5 + 6) / 3 });
  assert.equal(domains[1]!.images, 5);
  const plan = events[0]!;
  assert.deepEqual(plan, { type: 'plan', runs: 1, totalImages: 10, skippedImages: 0 });
  assert.equal(events.filter((e) => e.type === 'progress').length, 6);
  const run = events.at(-1)!;
  assert.equal(run.type, 'run');
  if (run.type === 'run') {
    assert.equal(run.result.domains.length, 2);
    assert.equal(run.result.batchSize, 2);
    assert.ok(run.result.timeToFirstBatchMs >= 0);
  }
});

test('each method runs with its own batch size; a batch larger than a domain is that domain in one batch', async () => {
  const sizes = new Map<string, number[]>();
  const recorder = (method: string): Adapter => ({
    ...stateless,
    async reset() {},
    async step(images) {
      sizes.set(method, [...(sizes.get(method) ?? []), images.shape[0]]);
      return { labels: Array(images.shape[0]).fill(0), stats: {} };
    },
  });
  const events: BenchEvent[] = [];
  await runProtocol(config({ methods: ['a', 'b'], batchSizes: { a: 200, b: 2 } }), { data, createAdapter: async (m) => recorder(m), emit: (e) => events.push(e) });
  assert.deepEqual(Object.fromEntries(sizes), { a: [5, 5], b: [2, 2, 1, 2, 2, 1] });
  assert.deepEqual(events.flatMap((e) => (e.type === 'run' ? [[e.result.method, e.result.batchSize]] : [])), [['a', 200], ['b', 2]]);
  await assert.rejects(runProtocol(config({ batchSizes: {} }), { data, createAdapter: async (m) => recorder(m), emit: () => {} }), /a: no batch size/);
});

test('reset_each_shift resets at every domain; resuming skips finished domains', async () => {
  const log: string[] = [];
  const events: BenchEvent[] = [];
  const cfg = config({ settings: ['reset_each_shift'] });
  await runProtocol(cfg, { data, createAdapter: async () => fakeAdapter(log), emit: (e) => events.push(e) });
  assert.deepEqual(log, ['reset@0', 'reset@3']);
  const key = { method: 'a', setting: 'reset_each_shift' as const, seed: 1 };
  const resumed: BenchEvent[] = [];
  await runProtocol(cfg, { data, createAdapter: async () => fakeAdapter([]), emit: (e) => resumed.push(e), done: new Set([domainId(key, 0)]) });
  assert.deepEqual(resumed[0], { type: 'plan', runs: 1, totalImages: 5, skippedImages: 5 });
  assert.deepEqual(resumed.filter((e) => e.type === 'domain').map((e) => e.result.corruption), ['snow']);
});

test('a partly finished continual run is redone from its start; a finished one is skipped', () => {
  const cfg = config({ methods: ['a', 'b'] });
  const done = new Set([domainId({ method: 'a', setting: 'continual', seed: 1 }, 0), domainId({ method: 'b', setting: 'continual', seed: 1 }, 0), domainId({ method: 'b', setting: 'continual', seed: 1 }, 1)]);
  const runs = planRuns(cfg, done);
  assert.deepEqual(runs.map((r) => [r.method, r.todo]), [['a', [0, 1]], ['b', []]]);
});

/** Its predictions depend on everything it has seen (the sum of red values), its whole state. */
function memoryAdapter(): Adapter {
  let seen = 0;
  return {
    async reset() {
      seen = 0;
    },
    async step(images) {
      const reds = Array.from({ length: images.shape[0] }, (_, k) => Math.round(images.data[3 * k]! * 255));
      const labels = reds.map((r) => (r + seen) % 3);
      seen += reds.reduce((a, b) => a + b, 0) + 1;
      return { labels, stats: { seen } };
    },
    save: async () => ({ method: 'a', hash: 'h', values: [], methodState: { counters: { seen }, tensors: {} } }),
    restore: async (state) => {
      seen = state.methodState!.counters.seen!;
    },
  };
}

test('an interrupted continual run resumes from its checkpoint and gives the results of an uninterrupted one', async () => {
  const cfg = config({ corruptions: ['fog', 'snow', 'frost'] });
  const key = { method: 'a', setting: 'continual' as const, seed: 1 };
  const full: BenchEvent[] = [];
  await runProtocol(cfg, { data, createAdapter: async () => memoryAdapter(), emit: (e) => full.push(e) });
  const checkpoints = full.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : []));
  assert.deepEqual(checkpoints.map((c) => c.domainIndex), [0, 1], 'a checkpoint after every domain but the last');
  const fullDomains = full.flatMap((e) => (e.type === 'domain' ? [e.result] : []));
  // Stopped after domain 0: finished domain 0 and its checkpoint survive.
  const resumed: BenchEvent[] = [];
  await runProtocol(cfg, {
    data, createAdapter: async () => memoryAdapter(), emit: (e) => resumed.push(e),
    done: new Set([domainId(key, 0)]), checkpoints: new Map([[runId(key), checkpoints[0]!]]),
  });
  assert.deepEqual(resumed[0], { type: 'plan', runs: 1, totalImages: 10, skippedImages: 5 });
  const again = resumed.flatMap((e) => (e.type === 'domain' ? [e.result] : []));
  const strip = (d: (typeof fullDomains)[number]) => [d.corruption, d.errorPct, d.batchErrorPct, d.stats];
  assert.deepEqual(again.map(strip), fullDomains.slice(1).map(strip));
  assert.ok(fullDomains.some((d) => d.errorPct > 0) && new Set(fullDomains.map((d) => d.errorPct)).size > 1, 'the state changes the predictions');
});

test('a checkpoint is used only when every domain up to it is finished, and never in mixed or reset settings', () => {
  const cp = (domainIndex: number): RunCheckpoint => ({ domainIndex, state: { method: 'a', hash: '', values: [] } });
  const cfg = config({ corruptions: ['fog', 'snow', 'frost'], settings: ['continual', 'correlated', 'mixed_domains', 'reset_each_shift'] });
  const done = new Set<string>();
  for (const setting of cfg.settings) done.add(domainId({ method: 'a', setting, seed: 1 }, 0));
  const checkpoints = new Map(cfg.settings.map((setting) => [runId({ method: 'a', setting, seed: 1 }), cp(0)]));
  assert.deepEqual(planRuns(cfg, done, checkpoints).map((r) => [r.setting, r.todo, r.resume?.domainIndex]), [
    ['continual', [1, 2], 0],
    ['correlated', [1, 2], 0],
    ['mixed_domains', [0, 1, 2], undefined],
    ['reset_each_shift', [1, 2], undefined],
  ]);
  // The checkpoint is after domain 1 but domain 1's result is missing: start over.
  const ahead = new Map([[runId({ method: 'a', setting: 'continual', seed: 1 }), cp(1)]]);
  assert.deepEqual(planRuns(config({ corruptions: ['fog', 'snow', 'frost'] }), done, ahead).map((r) => [r.todo, r.resume]), [[[0, 1, 2], undefined]]);
});

test('domain order: severity-major, optionally shuffled per seed', () => {
  const cfg = { corruptions: ['a', 'b', 'c', 'd', 'e'], severities: [3, 5], order: 'given' as const };
  assert.deepEqual(domainOrder(cfg, 1).map((d) => `${d.corruption}${d.severity}`), ['a3', 'b3', 'c3', 'd3', 'e3', 'a5', 'b5', 'c5', 'd5', 'e5']);
  const s1 = domainOrder({ ...cfg, order: 'shuffled' }, 1).map((d) => d.corruption);
  assert.deepEqual(domainOrder({ ...cfg, order: 'shuffled' }, 1).map((d) => d.corruption), s1, 'same seed, same order');
  assert.deepEqual([...s1.slice(0, 5)].sort(), ['a', 'b', 'c', 'd', 'e']);
  const orders = new Set([1, 2, 3, 4, 5].map((seed) => domainOrder({ ...cfg, order: 'shuffled' }, seed).map((d) => d.corruption).join('')));
  assert.ok(orders.size > 1, 'different seeds give different orders');
});

test('too few images in a domain is a clear error', async () => {
  await assert.rejects(
    runProtocol(config({ n: 10 }), { data, createAdapter: async () => fakeAdapter([]), emit: () => {} }),
    /fog severity 5: 6 images available, --n asks for 10/,
  );
});

/** Always right on known images; the outlier score is the red value, so outliers (red >= 200) rank first. */
const oracle: Adapter = {
  ...stateless,
  async reset() {},
  async step(images) {
    const reds = Array.from({ length: images.shape[0] }, (_, k) => Math.round(images.data[3 * k]! * 255));
    return { labels: reds.map((r) => r % 3), outlierScore: reds, stats: {} };
  },
};

test('mixed domains: samples are scored against their own domain; results come at the end', async () => {
  const events: BenchEvent[] = [];
  await runProtocol(config({ settings: ['mixed_domains'], batchSizes: { a: 4 } }), { data, createAdapter: async () => oracle, emit: (e) => events.push(e) });
  const domains = events.filter((e) => e.type === 'domain').map((e) => e.result);
  assert.deepEqual(domains.map((d) => [d.corruption, d.n, d.errorPct]), [['fog', 5, 0], ['snow', 5, 0]]);
  assert.equal(domains[0]!.images + domains[1]!.images, 10);
  // 10 images in batches of 4: 3 steps.
  assert.equal(events.filter((e) => e.type === 'progress').length, 3);
});

test('open-set: outliers are mixed in, left out of the error, and scored by AUROC / H-score', async () => {
  const outlierSource = {
    name: 'out', size: 50, height: 1, width: 1,
    labels: async () => new Int32Array(50).fill(-1),
    async get(indices: readonly number[]) {
      const images = new Uint8Array(indices.length * 3);
      indices.forEach((i, k) => (images[3 * k] = 200 + i));
      return { images, labels: new Int32Array(indices.length).fill(-1) };
    },
  };
  const events: BenchEvent[] = [];
  const withOutliers: DataSource = { ...data, outliers: async () => [outlierSource] };
  // 5 known images per domain at share 0.5 -> 5 outliers each.
  await runProtocol(config({ openSet: { share: 0.5 } }), { data: withOutliers, createAdapter: async () => oracle, emit: (e) => events.push(e) });
  assert.deepEqual(events[0], { type: 'plan', runs: 1, totalImages: 20, skippedImages: 0 });
  for (const d of events.filter((e) => e.type === 'domain').map((e) => e.result)) {
    assert.equal(d.n, 5);
    assert.equal(d.errorPct, 0);
    assert.equal(d.outliers, 5);
    assert.equal(d.auroc, 1);
    assert.equal(d.hScore, 1);
    assert.equal(d.images, 10);
  }
});

test('segmentation: per-pixel labels give pixel error and mIoU per domain', async () => {
  // Image i is 1x2 with labels [i % 2, 1]; the adapter always predicts [0, 1].
  const seg: DataSource = {
    async domain(corruption, severity) {
      return {
        name: `${corruption}-${severity}`, size: 4, height: 1, width: 2,
        labels: async () => new Int32Array(4),
        async get(indices) {
          return { images: new Uint8Array(indices.length * 6), labels: Int32Array.from(indices.flatMap((i) => [i % 2, 1])) };
        },
      };
    },
  };
  const adapter: Adapter = {
    ...stateless,
    async reset() {},
    async step(images) {
      return { labels: Array.from({ length: images.shape[0] }, () => [0, 1]).flat(), stats: {} };
    },
  };
  const events: BenchEvent[] = [];
  await runProtocol(config({ n: 4, batchSizes: { a: 2 } }), { data: seg, createAdapter: async () => adapter, emit: (e) => events.push(e), segmentation: { numClasses: 2 } });
  const domains = events.filter((e) => e.type === 'domain').map((e) => e.result);
  assert.equal(domains.length, 2);
  // Confusion (label, predicted): (0,0) 2, (1,0) 2, (1,1) 4 -> IoU 2/4 and 4/6; 2 of 8 pixels wrong.
  assert.ok(Math.abs(domains[0]!.mIoU! - (50 + 200 / 3) / 2) < 1e-9);
  assert.equal(domains[0]!.errorPct, 25);
  assert.deepEqual(domains[0]!.batchErrorPct, [25, 25]);
  await assert.rejects(
    runProtocol(config({ n: 4, settings: ['mixed_domains'] }), { data: seg, createAdapter: async () => adapter, emit: () => {}, segmentation: { numClasses: 2 } }),
    /segmentation benchmarks support the continual and reset_each_shift settings/,
  );
});
