import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { resolveMounted, serveFile } from './serve.ts';

test('mounted paths resolve inside their folder only', () => {
  const mounts = { data: '/srv/data' };
  assert.equal(resolveMounted(mounts, '/bench-files/data/a/b.npy'), '/srv/data/a/b.npy');
  assert.equal(resolveMounted(mounts, '/bench-files/data/a%20b.bin'), '/srv/data/a b.bin');
  assert.equal(resolveMounted(mounts, '/bench-files/data/../secret'), undefined);
  assert.equal(resolveMounted(mounts, '/bench-files/data/%2e%2e/secret'), undefined);
  assert.equal(resolveMounted(mounts, '/bench-files/other/x'), undefined);
  assert.equal(resolveMounted(mounts, '/src/x.ts'), undefined);
});

test('files are served whole, by byte range, and folders as JSON listings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
  writeFileSync(join(dir, 'f.bin'), Buffer.from('0123456789'));
  mkdirSync(join(dir, 'sub'));
  const server = createServer((req, res) => serveFile(join(dir, decodeURIComponent(req.url!.slice(1))), req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const whole = await fetch(`${base}/f.bin`);
    assert.equal(await whole.text(), '0123456789');
    assert.equal(whole.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const part = await fetch(`${base}/f.bin`, { headers: { Range: 'bytes=3-5' } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), '345');
    assert.equal(part.headers.get('content-range'), 'bytes 3-5/10');
    assert.equal((await fetch(`${base}/f.bin`, { headers: { Range: 'bytes=20-' } })).status, 416);
    assert.deepEqual(await (await fetch(`${base}/`)).json(), ['f.bin', 'sub/']);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
