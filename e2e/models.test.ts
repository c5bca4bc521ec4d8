import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openPage, type BrowserSession } from './browser.ts';
import type { SampleResult } from './pages/models.ts';

let s: BrowserSession;
before(async () => {
  s = await openPage('models');
});
after(async () => s?.close());

/** Every shipped card, with the name of its accuracy entry on the shipped sample ('<dataset>-sample'). */
const MODELS = resolve(import.meta.dirname, '../models');
const SAMPLE = Object.fromEntries(
  readdirSync(MODELS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const card = JSON.parse(readFileSync(resolve(MODELS, f), 'utf8')) as { accuracy: { sample: string }[] };
      const sample = card.accuracy.find((a) => a.sample.endsWith('-sample'))?.sample;
      assert.ok(sample, `models/${f} has no accuracy on a shipped sample`);
      return [f.slice(0, -'.json'.length), sample];
    }),
);

for (const [name, sample] of Object.entries(SAMPLE)) {
  test(`${name}: accuracy on its shipped sample in Chromium (wasm) equals the card`, async () => {
    const r = await s.call<SampleResult>('evalSample', name, 'wasm');
    assert.equal(r.backend, 'wasm');
    assert.equal(r.tensorsAfter, r.tensorsBefore, 'evaluation leaks tensors');
    for (const m of r.measured) {
      const want = r.card.accuracy.find((a) => a.sample === sample && a.metric === m.metric);
      assert.ok(want, `${name}: card has no ${m.metric} for ${sample}`);
      assert.equal(m.count, want.count);
      if (m.correct !== undefined && want.correct !== undefined) {
        // An argmax may flip at a near-tie between runtimes: allow 2 images in 1,000, 1 in 48.
        const slack = Math.max(1, Math.round((2 * m.count) / 1000));
        assert.ok(Math.abs(m.correct - want.correct) <= slack, `${name}: ${m.correct}/${m.count} correct in the browser, card says ${want.correct}`);
      } else {
        assert.ok(Math.abs(m.value - want.value) <= 2e-3, `${name}: ${m.metric} ${m.value} in the browser, card says ${want.value}`);
      }
    }
    console.log(`${name}: ${r.measured.map((m) => `${m.metric} ${m.value.toFixed(4)}`).join(', ')} in ${r.seconds.toFixed(1)} s (card: ${r.card.status})`);
  });
}
