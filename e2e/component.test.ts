import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { fakeCameraArgs, openApp, ROOT, type AppSession } from './browser.ts';
import { writeSampleClip } from './demo-clip.ts';

const SHOTS = resolve(ROOT, 'test-results/component');
let app: AppSession;
let page: Page;
let url: string;
let clipDir: string;
let errors: string[];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  clipDir = mkdtempSync(join(tmpdir(), 'webtta-clip-'));
  app = await openApp({ chromeArgs: fakeCameraArgs(writeSampleClip(join(clipDir, 'cifar.y4m'), 16)) });
  ({ page, url, errors } = app);
});

after(async () => {
  await app?.close();
  rmSync(clipDir, { recursive: true, force: true });
});

interface ElementState {
  steps: number;
  status: string;
  lanes: string[];
  adaptedText: string;
}

const read = () =>
  page.evaluate(() => {
    const el = document.querySelector('tta-classifier') as HTMLElement & { shadowRoot: ShadowRoot };
    const status = el.shadowRoot.querySelector('.status')!.textContent ?? '';
    return {
      steps: Number(/(\d+) steps/.exec(status)?.[1] ?? -1),
      status,
      lanes: [...el.shadowRoot.querySelectorAll('[data-lane]')].map((e) => (e as HTMLElement).dataset.lane!),
      adaptedText: el.shadowRoot.querySelector('[data-lane="adapted"]')?.textContent ?? '',
    };
  }) as Promise<ElementState>;

/** The page counts the element's 'prediction' events (they do not bubble: capture phase), also after a reload. */
const countPredictions = () =>
  page.addInitScript(() => {
    const w = window as unknown as { predictions: number };
    w.predictions = 0;
    window.addEventListener('prediction', () => w.predictions++, true);
  });

test('bare example page: the fake camera drives <tta-classifier>; Tent adapts; reset, save and restore work', async () => {
  await countPredictions();
  await page.setViewportSize({ width: 390, height: 760 });
  await page.goto(`${url}/examples/classifier.html`);
  await page.waitForFunction(() => {
    const el = document.querySelector('tta-classifier') as HTMLElement | null;
    const status = el?.shadowRoot?.querySelector('.status')?.textContent ?? '';
    return /([3-9]|\d\d+) steps/.test(status) || /error|cannot/i.test(status);
  });
  let s = await read();
  assert.match(s.status, /cifar10-resnet26 · tent · wasm/, s.status);
  assert.deepEqual(s.lanes.sort(), ['adapted', 'source']);
  assert.match(s.adaptedText, /^(airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) \d+%$/);
  const ips = Number(/([\d.]+) img\/s/.exec(s.status)?.[1]);
  assert.ok(ips > 0, `throughput shown: ${s.status}`);
  console.log(`component: ${s.status}`);
  await page.screenshot({ path: join(SHOTS, 'example-phone.png') });

  // Main thread stays responsive while the worker adapts: timer lag stays small.
  const lag = await page.evaluate(async () => {
    let worst = 0;
    let last = performance.now();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const now = performance.now();
      worst = Math.max(worst, now - last - 20);
      last = now;
    }
    return worst;
  });
  console.log(`component: worst main-thread timer lag while adapting ${lag.toFixed(1)} ms`);
  assert.ok(lag < 200, `main thread blocked for ${lag} ms`);

  // Save the adapted state, reset (back to 0 steps), then restore from IndexedDB.
  const saved = await page.evaluate(async () => {
    const el = document.querySelector('tta-classifier') as unknown as { saveState(): Promise<{ steps: number; values: unknown[] }> };
    const st = await el.saveState();
    return { steps: st.steps, tensors: st.values.length };
  });
  assert.ok(saved.steps >= 3 && saved.tensors > 50, JSON.stringify(saved));
  await page.evaluate(async () => {
    const el = document.querySelector('tta-classifier') as unknown as { stop(): void; reset(): Promise<void> };
    el.stop();
    await el.reset();
  });
  s = await read();
  assert.equal(s.steps, 0, 'reset shows 0 steps');

  // After a reload the saved state is still there and restores onto the fresh model.
  await page.reload();
  const restored = await page.evaluate(async () => {
    const el = document.querySelector('tta-classifier') as unknown as {
      stop(): void;
      whenReady(): Promise<void>;
      restoreState(): Promise<boolean>;
      exportState(): Promise<{ steps: number }>;
    };
    await el.whenReady();
    el.stop();
    const fresh = (await el.exportState()).steps;
    const ok = await el.restoreState();
    return { ok, fresh, steps: (await el.exportState()).steps };
  });
  assert.equal(restored.fresh, 0, 'the stop() right after ready stopped the camera start in flight');
  assert.equal(restored.ok, true);
  assert.equal(restored.steps, saved.steps);
  assert.deepEqual(errors, []);
});

test('stop() wins over a start() in flight: no step afterwards, camera released', async () => {
  const r = await page.evaluate(async () => {
    const w = window as unknown as { predictions: number };
    const el = document.querySelector('tta-classifier') as unknown as HTMLElement & {
      start(): Promise<void>;
      stop(): void;
      isRunning: boolean;
      exportState(): Promise<{ steps: number }>;
    };
    el.setAttribute('batch-size', '2');
    const restored = await el.exportState();
    const seen = w.predictions;
    const after: { running: boolean; predictions: number; steps: number }[] = [];
    // Stopped before start() awaits anything, then while it awaits the camera. Steps would come every few hundred ms if capture ran.
    for (const wait of [-1, 5]) {
      const started = el.start();
      if (wait >= 0) await new Promise((res) => setTimeout(res, wait));
      el.stop();
      await started;
      await new Promise((res) => setTimeout(res, 1500));
      after.push({ running: el.isRunning, predictions: w.predictions - seen, steps: (await el.exportState()).steps });
    }
    const stream = el.shadowRoot!.querySelector('video')!.srcObject as MediaStream | null;
    const live = stream?.getTracks().some((t) => t.readyState === 'live') ?? false;
    return { steps: restored.steps, after, live };
  });
  const none = { running: false, predictions: 0, steps: r.steps };
  assert.deepEqual(r.after, [none, none], 'no step after stop()');
  assert.equal(r.live, false, 'no camera track left running');
  assert.deepEqual(errors, []);
});
