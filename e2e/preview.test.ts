/**
 * The production build as `npm run build && npm run preview` serves it: the demo and the bare
 * example page load cross-origin isolated and adapt. Built fresh into a temporary folder each
 * run (~25 s on 2 cores): a reused build could test old sources.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { build, preview } from 'vite';
import { fakeCameraArgs, openApp, ROOT, type AppSession, type Served } from './browser.ts';
import { writeSampleClip } from './demo-clip.ts';

let dir: string;
let app: AppSession;
let page: Page;
let errors: string[];

async function buildAndPreview(): Promise<Served> {
  const configFile = resolve(ROOT, 'vite.config.ts');
  const outDir = join(dir, 'dist');
  const t0 = performance.now();
  await build({ root: ROOT, configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  console.log(`preview: vite build in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const server = await preview({ root: ROOT, configFile, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview server did not report a URL');
  return { url: url.replace(/\/$/, ''), close: () => server.close() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webtta-preview-'));
  app = await openApp({ chromeArgs: fakeCameraArgs(writeSampleClip(join(dir, 'cifar.y4m'), 16)), serve: buildAndPreview });
  ({ page, errors } = app);
});

after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('built demo: cross-origin isolated, threaded wasm, the labelled stream adapts', async () => {
  await page.goto(`${app.url}/`);
  await page.waitForFunction(() => /on (wasm|webgpu|webgl|cpu)|error/.test(document.getElementById('status')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match((await page.textContent('#status'))!, /^cifar10-resnet26 on wasm \([2-9] threads\)$/);
  await page.click('#run');
  await page.waitForFunction(() => ((window as unknown as { demo: { history: Map<string, { entropy: { data: number[] } }> } }).demo.history.get('adapted')?.entropy.data.length ?? 0) >= 2);
  await page.click('#run');
  assert.equal(await page.locator('.thumb').count(), 16);
  assert.deepEqual(errors, []);
});

test('built example page: the fake camera drives <tta-classifier>', async () => {
  await page.goto(`${app.url}/examples/classifier.html`);
  await page.waitForFunction(() => /([1-9]\d*) steps|error|cannot/i.test(document.querySelector('tta-classifier')?.shadowRoot?.querySelector('.status')?.textContent ?? ''));
  const status = await page.evaluate(() => document.querySelector('tta-classifier')!.shadowRoot!.querySelector('.status')!.textContent!);
  console.log(`preview: ${status}`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match(status, /^cifar10-resnet26 · tent · wasm x[2-9] · [1-9]\d* steps · /);
  assert.match((await page.textContent('#log'))!, /^step \d+: /);
  assert.deepEqual(errors, []);
});
