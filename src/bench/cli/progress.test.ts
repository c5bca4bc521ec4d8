import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, Progress, renderBar } from './progress.ts';

test('bar and durations', () => {
  assert.equal(renderBar(1, 4, 8), '[##------]  25%');
  assert.equal(renderBar(5, 4, 4), '[####] 100%');
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(NaN), '--:--');
});

test('progress line: recent images/s and ETA from the elapsed time', () => {
  let t = 0;
  const lines: string[] = [];
  const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const p = new Progress(out, () => t, 0);
  p.setTotal(400);
  t = 1000;
  p.update(100, 'tent fog');
  t = 2000;
  p.update(100, 'tent fog');
  // 200 of 400 images after 2 s -> 2 s left; 100 images in the 1 s since the first report.
  assert.equal(lines.at(-1), '[############------------]  50% 200/400 img | 100.0 img/s | ETA 0:02 | tent fog\n');
});

test('slow steps (a minute each) still show a rate', () => {
  let t = 0;
  const lines: string[] = [];
  const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const p = new Progress(out, () => t, 0);
  p.setTotal(640);
  t = 60_000;
  p.update(64, 'cotta');
  t = 120_000;
  p.update(64, 'cotta');
  assert.match(lines.at(-1)!, /\| 1\.1 img\/s \| ETA 8:00 \|/);
});
