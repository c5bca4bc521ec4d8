/**
 * The standalone components bundle (`npm run build:components`) as another site would use it:
 * built fresh into a temporary folder (a reused build could test old sources), copied under
 * vendor/webtta/ of a site whose only page holds the script tag and the element, and served by
 * a plain Node static server - no Vite - once with COOP/COEP and once without.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { FROST_FILES } from '../src/data/corruptions/frost.ts';
import { fakeCameraArgs, openApp, ROOT, type AppSession, type Served } from './browser.ts';
import { cifarSample, writeSampleClip } from './demo-clip.ts';

const BUNDLE = '/vendor/webtta/';
const PAGE = `<!doctype html>
<script type="module" src="..${BUNDLE}webtta-components.js"></script>
<tta-classifier model="cifar10-resnet26" method="tent" source="camera" batch-size="4" frame-interval="100"></tta-classifier>
`;

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

interface StaticServer extends Served {
  /** Paths requested so far. */
  requests: string[];
}

/** Serve `root` as files; with `isolated`, every response carries COOP/COEP. */
async function serveStatic(root: string, isolated: boolean): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    requests.push(path);
    const file = resolve(root, `.${path}`);
    if (isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (!file.startsWith(root + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

function files(dir: string): { path: string; bytes: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: relative(dir, join(e.parentPath, e.name)), bytes: statSync(join(e.parentPath, e.name)).size }));
}

let dir: string;
let bundle: { path: string; bytes: number }[];
let app: AppSession;
let isolated: StaticServer;
let plain: StaticServer;
let page: Page;
let errors: string[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webtta-bundle-'));
  const site = join(dir, 'site');
  const t0 = performance.now();
  await build({ root: ROOT, configFile: resolve(ROOT, 'vite.components.config.ts'), logLevel: 'error', build: { outDir: join(site, BUNDLE), emptyOutDir: true } });
  bundle = files(join(site, BUNDLE));
  const mb = bundle.reduce((s, f) => s + f.bytes, 0) / 2 ** 20;
  console.log(`components-bundle: built in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${bundle.length} files, ${mb.toFixed(1)} MiB`);
  mkdirSync(join(site, 'page'));
  writeFileSync(join(site, 'page/index.html'), PAGE);
  plain = await serveStatic(site, false);
  app = await openApp({
    chromeArgs: fakeCameraArgs(writeSampleClip(join(dir, 'cifar.y4m'), 16)),
    serve: async () => (isolated = await serveStatic(site, true)),
  });
  ({ page, errors } = app);
});

after(async () => {
  await app?.close();
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Open the page, wait for `steps` camera steps; the element's status line. */
async function openAndAdapt(server: Served, steps: number): Promise<string> {
  await page.goto(`${server.url}/page/index.html`);
  await page.waitForFunction(
    (n) => {
      const status = document.querySelector('tta-classifier')?.shadowRoot?.querySelector('.status')?.textContent ?? '';
      return Number(/(\d+) steps/.exec(status)?.[1] ?? 0) >= n || /error|cannot|unknown/i.test(status);
    },
    steps,
  );
  return page.evaluate(() => document.querySelector('tta-classifier')!.shadowRoot!.querySelector('.status')!.textContent!);
}

/** Everything the page fetched came from the page itself or the bundle folder. */
function assertOnlyBundle(requests: string[]): void {
  const stray = requests.filter((p) => p !== '/page/index.html' && !p.startsWith(BUNDLE) && p !== '/favicon.ico');
  assert.deepEqual(stray, [], 'requests outside the bundle folder');
}

test('the bundle: the entry, one worker, tfjs wasm, the shipped models and frost overlays; no tfjs on the main thread', () => {
  const names = bundle.map((f) => f.path).sort();
  assert.ok(names.includes('webtta-components.js'));
  assert.equal(names.filter((n) => /^runtime\.worker-[\w-]+\.js$/.test(n)).length, 1, names.join(' '));
  for (const w of ['tfjs-backend-wasm', 'tfjs-backend-wasm-simd', 'tfjs-backend-wasm-threaded-simd']) {
    assert.ok(names.some((n) => new RegExp(`^assets/${w}-[\\w-]+\\.wasm$`).test(n)), `${w}.wasm`);
  }
  for (const m of ['cifar10-resnet26', 'camvid-unet']) assert.ok(names.some((n) => n.startsWith(`assets/${m}-`) && n.endsWith('.onnx')), m);
  for (const f of FROST_FILES) assert.ok(names.includes(`corruptions/${f}`), f);
  // Nothing the elements never fetch: no samples, no PyTorch checkpoints, no onnxruntime-web.
  assert.deepEqual(names.filter((n) => /samples|\.pt$|ort-/.test(n)), []);
  // tfjs (~900 KB minified) belongs in the worker; the page-side entry only draws and talks to it.
  const entry = bundle.find((f) => f.path === 'webtta-components.js')!;
  assert.ok(entry.bytes < 150_000, `webtta-components.js is ${entry.bytes} bytes`);
});

test('served with COOP/COEP by a plain static server: the bare page adapts on threaded wasm, fetching only from the bundle folder', async () => {
  const status = await openAndAdapt(isolated, 2);
  console.log(`components-bundle: isolated: ${status}`);
  assert.match(status, /^cifar10-resnet26 · tent · wasm x[2-9] · \d+ steps · [\d.]+ img\/s$/);
  const r = await page.evaluate(async () => {
    const mod = await import(new URL('../vendor/webtta/webtta-components.js', location.href).href);
    const shadow = document.querySelector('tta-classifier')!.shadowRoot!;
    return {
      isolated: crossOriginIsolated,
      exports: Object.keys(mod).sort(),
      // The same module instance the script tag loaded registered both elements.
      registered: mod.TTAClassifier === customElements.get('tta-classifier') && mod.TTASegmenter === customElements.get('tta-segmenter'),
      adapted: shadow.querySelector('[data-lane="adapted"]')?.textContent ?? '',
    };
  });
  assert.deepEqual(r, { isolated: true, exports: ['TTAClassifier', 'TTASegmenter'], registered: true, adapted: r.adapted });
  assert.match(r.adapted, /^(airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) \d+%$/);
  assert.ok(isolated.requests.some((p) => /\/tfjs-backend-wasm-threaded-simd-[\w-]+\.wasm$/.test(p)), 'the threaded wasm build');
  assert.ok(isolated.requests.some((p) => /\/cifar10-resnet26-[\w-]+\.onnx$/.test(p)), 'the model');
  assertOnlyBundle(isolated.requests);
  assert.deepEqual(errors, []);
});

test('without cross-origin isolation: no SharedArrayBuffer, single-threaded wasm, still adapts; a frost corruption fetches its overlays from the bundle', async () => {
  const status = await openAndAdapt(plain, 1);
  console.log(`components-bundle: not isolated: ${status}`);
  assert.match(status, /^cifar10-resnet26 · tent · wasm x1 · \d+ steps · /);
  const { data } = cifarSample(2);
  const r = await page.evaluate(async (pixels) => {
    const el = document.querySelector('tta-classifier') as unknown as {
      stop(): void;
      corruption: { name: string; severity: number } | null;
      feed(b: { data: Uint8Array; shape: number[] }): Promise<{ images: Uint8Array; step: { steps: number } }>;
    };
    el.stop();
    el.corruption = { name: 'frost', severity: 3 };
    const clean = Uint8Array.from(pixels);
    // feed() transfers the batch's buffer to the worker: keep a copy to compare with.
    const { images } = await el.feed({ data: clean.slice(), shape: [2, 32, 32, 3] });
    let diff = 0;
    for (let i = 0; i < clean.length; i++) diff += Math.abs(images[i]! - clean[i]!);
    return { isolated: crossOriginIsolated, sab: typeof SharedArrayBuffer, meanDiff: diff / clean.length };
  }, [...data]);
  assert.equal(r.isolated, false);
  assert.equal(r.sab, 'undefined');
  assert.ok(r.meanDiff > 10, `frost changed the pixels by ${r.meanDiff} on average`);
  assert.ok(plain.requests.some((p) => /\/tfjs-backend-wasm-simd-[\w-]+\.wasm$/.test(p)), 'the single-threaded SIMD wasm build');
  assert.ok(!plain.requests.some((p) => p.includes('threaded')), 'no threaded wasm without isolation');
  for (const f of FROST_FILES) assert.ok(plain.requests.includes(`${BUNDLE}corruptions/${f}`), f);
  assertOnlyBundle(plain.requests);
  assert.deepEqual(errors, []);
});
