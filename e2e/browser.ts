/**
 * Shared harness for browser tests: one Vite dev server (COOP/COEP on, so the page is
 * cross-origin isolated) and one headless Chromium per test file.
 *
 * A test file pairs with a page module `e2e/pages/<name>.ts`; `openPage(name)` loads it
 * into `e2e/pages/index.html`, and `call(fn, ...args)` runs one of its exports in the
 * page and returns the (structured-cloneable) result.
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const SHARED_DATA = resolve(ROOT, '../shared/data');

export const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromePath(): string {
  const path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at ${path}: install it (apt-get install -y chromium) or set CHROME_PATH`);
  }
  return path;
}

export interface BrowserSession {
  url: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  call<T = unknown>(fn: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

export async function startServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: ROOT,
    configFile: resolve(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    // No file watching or hot reload: an edit elsewhere must not reload a page mid-test.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite dev server did not report a URL');
  return { server, url: url.replace(/\/$/, '') };
}

export async function launchChromium(extraArgs: string[] = []): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'webtta-chrome-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromePath(),
    headless: true,
    args: [...CHROME_FLAGS, ...extraArgs],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Serve the project, open `e2e/pages/index.html?module=<name>` and wait for the module. */
export async function openPage(name: string, opts: { chromeArgs?: string[]; timeoutMs?: number } = {}): Promise<BrowserSession> {
  const { server, url } = await startServer();
  const browser = await launchChromium(opts.chromeArgs);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.setDefaultTimeout(opts.timeoutMs ?? 600_000);
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(`${url}/e2e/pages/index.html?module=${encodeURIComponent(name)}`);
  await page.waitForFunction(() => (window as unknown as { testReady?: unknown }).testReady !== undefined);
  const ready = await page.evaluate(() => (window as unknown as { testReady: unknown }).testReady);
  if (ready !== true) throw new Error(`page module ${name} failed to load: ${String(ready)}`);
  return {
    url,
    context: browser.context,
    page,
    errors,
    call<T>(fn: string, ...args: unknown[]) {
      return page.evaluate(
        async ([f, a]) => {
          const mod = (window as unknown as { testModule: Record<string, (...x: unknown[]) => unknown> }).testModule;
          if (typeof mod[f as string] !== 'function') throw new Error(`page module has no export ${String(f)}`);
          return mod[f as string](...(a as unknown[]));
        },
        [fn, args] as const,
      ) as Promise<T>;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export interface AppSession {
  url: string;
  browser: Awaited<ReturnType<typeof launchChromium>>;
  page: Page;
  /** Uncaught page errors, console errors (less `ignoreConsole`) and HTTP errors of our own resources. */
  errors: string[];
  close(): Promise<void>;
}

/** A server of the app: its base URL and how to stop it. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

async function serveDev(): Promise<Served> {
  const { server, url } = await startServer();
  return { url, close: () => server.close() };
}

/**
 * Serve the project (the dev server unless `serve` starts another) and open a blank page in
 * Chromium, collecting errors (tests of index.html and the component).
 */
export async function openApp(opts: { chromeArgs?: string[]; timeoutMs?: number; ignoreConsole?: RegExp; serve?: () => Promise<Served> } = {}): Promise<AppSession> {
  const server = await (opts.serve ?? serveDev)();
  const url = server.url;
  const browser = await launchChromium(opts.chromeArgs);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.setDefaultTimeout(opts.timeoutMs ?? 120_000);
  const errors: string[] = [];
  const ignore = opts.ignoreConsole ?? /Failed to load resource/;
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !ignore.test(m.text()) && errors.push(m.text()));
  // Resource failures are reported by URL (the console line has none); the browser's favicon probe is not ours.
  page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`HTTP ${r.status()} ${r.url()}`));
  return {
    url,
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Chromium flags for a camera that plays `clip` (a .y4m file) and is granted without a prompt. */
export const fakeCameraArgs = (clip: string) => ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`];

/** URL path under which the dev server exposes a file of ../shared/data. */
export function sharedDataUrl(relative: string): string {
  return `/@fs${resolve(SHARED_DATA, relative)}`;
}
