/**
 * Serving the benchmark page on 127.0.0.1: a production build (vite build + preview,
 * rebuilt only when sources changed) or the dev server, both cross-origin isolated, plus
 * read-only mounts of the user's model and data folders under /bench-files/<name>/.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, resolve, sep } from 'node:path';
import { build, createServer, preview, type Plugin } from 'vite';

export const MOUNT_PREFIX = '/bench-files/';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };

/** Resolve a request path inside a mount, refusing anything that escapes it. */
export function resolveMounted(mounts: Readonly<Record<string, string>>, urlPath: string): string | undefined {
  if (!urlPath.startsWith(MOUNT_PREFIX)) return undefined;
  const rest = decodeURIComponent(urlPath.slice(MOUNT_PREFIX.length));
  const slash = rest.indexOf('/');
  const name = slash < 0 ? rest : rest.slice(0, slash);
  const root = mounts[name];
  if (!root) return undefined;
  const file = resolve(root, slash < 0 ? '' : rest.slice(slash + 1));
  const rel = relative(root, file);
  if (rel.startsWith('..') || rel.split(sep).includes('..')) return undefined;
  return file;
}

/** Serve a file with byte ranges (large .npy files are read in slices) or a directory as a JSON listing. */
export function serveFile(file: string, req: IncomingMessage, res: ServerResponse): void {
  if (!existsSync(file)) {
    res.writeHead(404, ISOLATION).end(`not found: ${file}`);
    return;
  }
  const st = statSync(file);
  if (st.isDirectory()) {
    const entries = readdirSync(file, { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    res.writeHead(200, { ...ISOLATION, 'Content-Type': 'application/json' }).end(JSON.stringify(entries));
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const headers = { ...ISOLATION, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
    if (start > end || start >= st.size) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${st.size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${st.size}`, 'Content-Length': end - start + 1 });
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': st.size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

function mountPlugin(mounts: Readonly<Record<string, string>>): Plugin {
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const file = resolveMounted(mounts, (req.url ?? '').split('?')[0]!);
    if (file === undefined) return next();
    serveFile(file, req, res);
  };
  return {
    name: 'webtta-bench-mounts',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

/** Fingerprint of everything the page bundle is built from. */
function sourceStamp(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|html|json)$/.test(e.name)) h.update(`${relative(root, p)}:${statSync(p).size}:${statSync(p).mtimeMs}\n`);
    }
  };
  for (const d of ['src', 'workers']) if (existsSync(join(root, d))) walk(join(root, d));
  for (const f of ['bench.html', 'vite.config.ts', 'package-lock.json']) if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
  return h.digest('hex');
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

export async function serveBench(opts: { root: string; dev: boolean; port: number; mounts: Record<string, string>; log: (m: string) => void; verbose: boolean }): Promise<Served> {
  const configFile = resolve(opts.root, 'vite.config.ts');
  const logLevel = opts.verbose ? 'info' : 'error';
  const server = { host: '127.0.0.1', port: opts.port, strictPort: opts.port !== 0 };
  if (opts.dev) {
    // No file watching or hot reload: an edit elsewhere in the repo must not reload the page mid-run.
    const dev = await createServer({ root: opts.root, configFile, logLevel, server: { ...server, hmr: false, watch: null }, plugins: [mountPlugin(opts.mounts)] });
    await dev.listen();
    const url = dev.resolvedUrls?.local[0];
    if (!url) throw new Error('vite dev server did not report a URL');
    return { url: url.replace(/\/$/, ''), close: () => dev.close() };
  }
  const outDir = resolve(opts.root, '.cache/bench-dist');
  const stampFile = join(outDir, '.source-stamp');
  const stamp = sourceStamp(opts.root);
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    opts.log('building the benchmark page (vite build; reused until sources change)...');
    const t0 = performance.now();
    await build({ root: opts.root, configFile, logLevel, build: { outDir, emptyOutDir: true, rollupOptions: { input: { bench: resolve(opts.root, 'bench.html') } } } });
    writeFileSync(stampFile, stamp);
    opts.log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const srv = await preview({ root: opts.root, configFile, logLevel, build: { outDir }, preview: server, plugins: [mountPlugin(opts.mounts)] });
  const url = srv.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview server did not report a URL');
  return { url: url.replace(/\/$/, ''), close: () => srv.close() };
}
