// `npm run perf -- --dawn DIR`: a DIR that is not the webgpu package is named before anything loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dawnPackageVersion } from './dawn.ts';

test('dawnPackageVersion reads the webgpu package and names a wrong folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dawn-'));
  try {
    assert.throws(() => dawnPackageVersion(dir), /--dawn .*: no package\.json there; pass the folder of the 'webgpu' npm package/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'webgpu-utils', version: '1.0.0' }));
    assert.throws(() => dawnPackageVersion(dir), /package\.json names 'webgpu-utils', not 'webgpu'/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'webgpu', version: '0.6.2' }));
    assert.equal(dawnPackageVersion(dir), '0.6.2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
