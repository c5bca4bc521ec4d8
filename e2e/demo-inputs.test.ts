/**
 * The demo's other inputs and models, and hostile conditions: a model card whose class
 * names are HTML, a camera the user refuses, dropped images, a video file, the CamVid
 * segmenter and darknet-tiny. Chromium runs with a fake camera device but without the
 * flag that auto-accepts the permission prompt, so getUserMedia is denied.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openApp, type AppSession } from './browser.ts';
import { cifarSample } from './demo-clip.ts';

let app: AppSession;
let page: Page;
let url: string;
let errors: string[];

/** Class names that are markup: rendered as HTML they would inject an <img> (running onerror) or a <script>. */
const HOSTILE = Array.from({ length: 10 }, (_, k) => (k % 2 ? `<script>window.pwned='${k}'</script>c${k}` : `<img src=x onerror="window.pwned='${k}'">c${k}`));

before(async () => {
  app = await openApp({ chromeArgs: ['--use-fake-device-for-media-stream'], ignoreConsole: /Failed to load resource|Permission denied/ });
  ({ page, url, errors } = app);
  const { context } = app.browser;
  await context.clearPermissions();
  // Serve the CIFAR-10 card with hostile class names (the demo and the element read them from it).
  await context.route(/\/models\/cifar10-resnet26\.json$/, async (route) => {
    const card = (await (await route.fetch()).json()) as { classNames: string[] };
    card.classNames = HOSTILE;
    await route.fulfill({ contentType: 'application/json', body: JSON.stringify(card) });
  });
  // The hostile <img src=x> would request /x; any such request is reported.
  page.on('request', (r) => /\/x$/.test(r.url()) && errors.push(`injected request ${r.url()}`));
});

after(async () => {
  await app?.close();
});

/** No element made from a class name, no script run, the markup shown literally. */
async function assertNoInjection(root: 'shadow' | 'document', selector: string): Promise<string[]> {
  const r = await page.evaluate(
    ([where, sel]) => {
      const host = document.querySelector('tta-classifier');
      const scope: ParentNode = where === 'shadow' ? host!.shadowRoot! : document;
      return {
        injected: scope.querySelectorAll('img, script:not([type="module"]):not([src])').length,
        texts: [...scope.querySelectorAll(sel)].map((e) => e.textContent ?? ''),
        pwned: (window as unknown as { pwned?: string }).pwned ?? null,
      };
    },
    [root, selector] as const,
  );
  assert.equal(r.injected, 0, 'no <img>/<script> element was created from a class name');
  assert.equal(r.pwned, null, 'no injected handler or script ran');
  assert.ok(r.texts.length > 0, `found ${selector}`);
  for (const t of r.texts) assert.match(t, /^(<img src=x onerror="window\.pwned='\d'">|<script>window\.pwned='\d'<\/script>)c\d \d+%$/, `shown literally: ${t}`);
  return r.texts;
}

test('<tta-classifier>: camera permission denied fires an error event, the element keeps working on fed frames; HTML class names render as text', async () => {
  await page.addInitScript(() => {
    const w = window as unknown as { elementErrors: string[] };
    w.elementErrors = [];
    // 'error' from the element does not bubble: listen in the capture phase.
    window.addEventListener('error', (e) => e instanceof CustomEvent && w.elementErrors.push((e.detail as { message: string }).message), true);
  });
  await page.goto(`${url}/examples/classifier.html`);
  await page.waitForFunction(() => (window as unknown as { elementErrors: string[] }).elementErrors.length > 0);
  const denied = await page.evaluate(() => ({
    events: (window as unknown as { elementErrors: string[] }).elementErrors,
    status: document.querySelector('tta-classifier')!.shadowRoot!.querySelector('.status')!.textContent,
    log: document.getElementById('log')!.textContent,
  }));
  console.log(`component: camera denied -> ${denied.events[0]}`);
  assert.equal(denied.events.length, 1);
  assert.match(denied.events[0]!, /^cannot open source 'camera': .*(Permission denied|NotAllowedError)/);
  assert.equal(denied.status, denied.events[0], 'the element shows the error');
  assert.equal(denied.log, `error: ${denied.events[0]}`, 'the page heard the event');

  // The element still adapts on frames the page feeds it (e.g. a sample stream instead of the camera).
  const { data } = cifarSample(8);
  const steps = await page.evaluate(async (pixels) => {
    const el = document.querySelector('tta-classifier') as unknown as { feed(b: { data: Uint8Array; shape: number[] }): Promise<{ step: { steps: number } }> };
    let last = 0;
    for (let i = 0; i < 2; i++) last = (await el.feed({ data: Uint8Array.from(pixels), shape: [8, 32, 32, 3] })).step.steps;
    return last;
  }, [...data]);
  assert.equal(steps, 2);
  const status = await page.evaluate(() => document.querySelector('tta-classifier')!.shadowRoot!.querySelector('.status')!.textContent!);
  assert.match(status, /cifar10-resnet26 · tent · \w+.* · 2 steps/);
  const texts = await assertNoInjection('shadow', '[data-lane]');
  assert.equal(texts.length, 2, 'source and adapted lanes');
  assert.deepEqual(errors, []);
});

interface Demo {
  history: Map<string, { entropy: { data: number[] }; accuracy: { data: number[] } }>;
  el: HTMLElement & { shadowRoot: ShadowRoot };
}
const adaptedSteps = () => page.evaluate(() => (window as unknown as { demo: Demo }).demo.history.get('adapted')?.entropy.data.length ?? 0);
const waitSteps = (n: number) =>
  page.waitForFunction((k) => ((window as unknown as { demo: Demo }).demo.history.get('adapted')?.entropy.data.length ?? 0) >= k, n).catch(async (e: unknown) => {
    throw new Error(`${String(e)}; status: ${await page.textContent('#status')}; errors: ${errors.join(' | ')}`);
  });
const demoReady = (model: string) => page.waitForFunction((m) => new RegExp(`^${m} on \\w+`).test(document.getElementById('status')?.textContent ?? ''), model);

/** Tests may run alone (--test-name-pattern): open the demo unless it is open. */
async function openDemo(): Promise<void> {
  if (await page.evaluate(() => (window as unknown as { demo?: unknown }).demo !== undefined).catch(() => false)) return;
  await page.goto(`${url}/`);
  await demoReady('cifar10-resnet26');
  await page.selectOption('#corruption', 'none');
}

/** Solid-colour frames: red, green, blue. */
const COLOURS = [
  [230, 30, 30],
  [30, 230, 30],
  [30, 30, 230],
];

test('demo: dropped images are classified and adapted on; HTML class names render as text in the thumbnails', async () => {
  await page.goto(`${url}/`);
  await demoReady('cifar10-resnet26');
  await page.selectOption('#corruption', 'none');
  await page.selectOption('#input', 'images');
  assert.equal(await page.isVisible('#drop'), true);
  await page.evaluate(async (colours) => {
    const files = await Promise.all(
      colours.map(async ([r, g, b], i) => {
        const c = new OffscreenCanvas(40, 30);
        const ctx = c.getContext('2d')!;
        ctx.fillStyle = `rgb(${r},${g},${b})`;
        ctx.fillRect(0, 0, 40, 30);
        return new File([await c.convertToBlob({ type: 'image/png' })], `frame${i}.png`, { type: 'image/png' });
      }),
    );
    const dt = new DataTransfer();
    files.forEach((f) => dt.items.add(f));
    dt.items.add(new File(['not an image'], 'notes.txt', { type: 'text/plain' }));
    document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, COLOURS);
  await waitSteps(1);
  const thumbs = await page.evaluate(() =>
    [...document.querySelectorAll('.thumb canvas')].map((c) => [...(c as HTMLCanvasElement).getContext('2d')!.getImageData(16, 16, 1, 1).data.slice(0, 3)]),
  );
  assert.deepEqual(thumbs, COLOURS, 'one thumbnail per dropped image (the text file skipped), showing its pixels');
  await assertNoInjection('document', '.thumb .pred');
  const options = await page.evaluate(() => [...document.querySelectorAll('.thumb select option')].slice(1, 3).map((o) => o.textContent));
  assert.deepEqual(options, HOSTILE.slice(0, 2), 'label pickers show the names literally');
  assert.deepEqual(errors, []);
});

test('demo: a video file (WebM recorded in the page) drives the classifier', async () => {
  await openDemo();
  await page.evaluate(() => {
    (document.getElementById('input') as HTMLSelectElement).value = 'video';
  });
  await page.fill('#batch', '4');
  await page.dispatchEvent('#batch', 'change');
  await demoReady('cifar10-resnet26');
  const before = await adaptedSteps();
  const recorded = await page.evaluate(async (colours) => {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const ctx = canvas.getContext('2d')!;
    // Paint before capturing: a blank (transparent) canvas would record as black frames.
    ctx.fillStyle = `rgb(${colours[0]!.join(',')})`;
    ctx.fillRect(0, 0, 64, 48);
    const type = 'video/webm;codecs=vp8';
    if (!MediaRecorder.isTypeSupported(type)) return { type, bytes: 0 };
    const rec = new MediaRecorder(canvas.captureStream(30), { mimeType: type });
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    const done = new Promise((r) => (rec.onstop = r));
    rec.start();
    for (let i = 0; i < 30; i++) {
      const [r, g, b] = colours[Math.floor(i / 10)]!;
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(0, 0, 64, 48);
      await new Promise((res) => setTimeout(res, 50));
    }
    rec.stop();
    await done;
    const file = new File(chunks, 'clip.webm', { type: 'video/webm' });
    const input = document.getElementById('videoFile') as HTMLInputElement;
    const dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    input.dispatchEvent(new Event('change'));
    return { type, bytes: file.size };
  }, COLOURS);
  console.log(`demo: recorded ${recorded.bytes} bytes of ${recorded.type}`);
  assert.ok(recorded.bytes > 1000, 'MediaRecorder produced a WebM clip');
  await waitSteps(before + 3);
  await page.evaluate(() => ((window as unknown as { built: unknown }).built = (window as unknown as { demo: Demo }).demo.el));
  // Clicking Pause blurs the batch field, which fires 'change' again with the same value: the
  // adapted element must stay (a rebuild would show a blank frame).
  await page.click('#run'); // pause
  const kept = await page.evaluate(() => {
    const w = window as unknown as { built: unknown; demo: Demo & { loading: boolean } };
    return { same: w.built === w.demo.el, loading: w.demo.loading };
  });
  assert.deepEqual(kept, { same: true, loading: false }, 'no rebuild after the repeated change');
  const frame = await page.evaluate(() => {
    const c = (window as unknown as { demo: Demo }).demo.el.shadowRoot.querySelector('canvas')!;
    return [...c.getContext('2d')!.getImageData(c.width >> 1, c.height >> 1, 1, 1).data.slice(0, 3)];
  });
  // The frame the model saw is one of the clip's colours (VP8 shifts solid colours a little).
  assert.ok(COLOURS.some((c) => c.every((v, k) => Math.abs(v - frame[k]!) < 40)), `video frame pixel ${frame}`);
  assert.deepEqual(errors, []);
});

test('demo: the CamVid U-Net in <tta-segmenter> adapts with Tent on the labelled frames; the overlay is the per-pixel prediction blended over the frame', async () => {
  await openDemo();
  await page.selectOption('#input', 'samples');
  await page.fill('#batch', '4');
  await page.dispatchEvent('#batch', 'change');
  await page.selectOption('#model', 'camvid-unet');
  await demoReady('camvid-unet');
  await page.evaluate(() => {
    const w = window as unknown as { demo: Demo; lastDetail: unknown };
    w.demo.el.addEventListener('prediction', (e) => (w.lastDetail = (e as CustomEvent).detail));
  });
  await page.click('#run');
  await waitSteps(2);
  await page.click('#run');
  await page.waitForFunction(() => !(window as unknown as { demo: { running: boolean } }).demo.running);
  const r = await page.evaluate(async () => {
    type Detail = { shape: number[]; images: Uint8Array; step: { lanes: Record<string, { labels: Int32Array }> } };
    const w = window as unknown as { demo: Demo; lastDetail: Detail };
    const { overlay } = (await import('/src/components/tta-segmenter.ts' as string)) as { overlay(rgb: Uint8Array, l: Int32Array, a: number): Uint8ClampedArray };
    const d = w.lastDetail;
    const [n, h, wd] = d.shape as [number, number, number];
    const labels = d.step.lanes.adapted!.labels;
    const last = labels.subarray((n - 1) * h * wd, n * h * wd);
    const expected = overlay(d.images.subarray((n - 1) * h * wd * 3, n * h * wd * 3), last, 0.5);
    const canvas = w.demo.el.shadowRoot.querySelector('canvas')!;
    const drawn = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - drawn[i]!));
    const classes = new Set(last);
    return {
      tag: w.demo.el.localName,
      shape: d.shape,
      labelCount: labels.length,
      classes: [...classes].sort((a, b) => a - b),
      canvas: [canvas.width, canvas.height],
      maxDiff,
      status: w.demo.el.shadowRoot.querySelector('.status')!.textContent,
      pixelAccuracy: w.demo.history.get('adapted')!.accuracy.data.at(-1),
      legend: [...w.demo.el.shadowRoot.querySelectorAll('.out span:not([style])')].map((e) => e.textContent),
    };
  });
  console.log(`demo: camvid ${r.status}; pixel accuracy (last 64 frames, no corruption) ${r.pixelAccuracy}; classes in last frame ${r.classes}`);
  assert.equal(r.tag, 'tta-segmenter');
  assert.deepEqual(r.shape, [4, 120, 160, 3]);
  assert.equal(r.labelCount, 4 * 120 * 160, 'one prediction per pixel');
  assert.ok(r.classes.length >= 2 && r.classes.every((k) => k >= 0 && k < 11), `classes ${r.classes}`);
  assert.deepEqual(r.canvas, [160, 120]);
  assert.equal(r.maxDiff, 0, 'the canvas holds exactly the class colours blended 50% over the frame');
  assert.match(r.status!, /camvid-unet · tent · \w+.* · [2-9]\d* steps/);
  assert.ok(Number.isFinite(r.pixelAccuracy) && r.pixelAccuracy! > 0.2, `pixel accuracy ${r.pixelAccuracy}`);
  assert.ok(r.legend.length >= 2 && r.legend.every((t) => /^(Sky|Building|Pole|Road|Pavement|Tree|SignSymbol|Fence|Car|Pedestrian|Bicyclist) \d+%$/.test(t!)), `legend ${r.legend}`);
  assert.deepEqual(errors, []);
});

test('demo: darknet-tiny (TF.js layers, 224x224, 1000 classes) classifies the ImageNet samples while BN adapts', async () => {
  await openDemo();
  await page.selectOption('#input', 'samples');
  await page.fill('#batch', '4');
  await page.dispatchEvent('#batch', 'change');
  await page.selectOption('#method', 'bn');
  await page.selectOption('#corruption', 'none');
  await page.selectOption('#model', 'darknet-tiny');
  await demoReady('darknet-tiny');
  await page.click('#run');
  await waitSteps(12);
  await page.click('#run');
  const r = await page.evaluate(() => {
    const d = (window as unknown as { demo: { el: Demo['el']; history: Map<string, { correct: number; labelled: number }> } }).demo;
    return {
      status: d.el.shadowRoot.querySelector('.status')!.textContent!,
      preds: [...document.querySelectorAll('.thumb .pred')].map((e) => e.textContent!),
      source: d.history.get('source')!,
      adapted: d.history.get('adapted')!,
    };
  });
  console.log(`demo: darknet-tiny ${r.status}; source ${r.source.correct}/${r.source.labelled}, bn ${r.adapted.correct}/${r.adapted.labelled} correct; first prediction ${r.preds[0]}`);
  assert.match(r.status, /darknet-tiny · bn · \w+.* · \d\d+ steps/);
  assert.equal(r.preds.length, 4);
  for (const p of r.preds) assert.match(p, /^n\d{8} .+ \d+%$/);
  // The card measures 70.8% top-1 for the source model on these 48 images (resized by tf.image
  // instead of the canvas); 12 batches of 4 cover all 48.
  assert.ok(r.source.labelled >= 48 && r.source.correct / r.source.labelled >= 0.5, `source accuracy ${r.source.correct}/${r.source.labelled}`);
  assert.deepEqual(errors, []);
});

test('demo: a crashed runtime worker is restarted from the last checkpoint and the sample stream carries on', async () => {
  await openDemo();
  await page.selectOption('#input', 'samples');
  await page.selectOption('#method', 'tent');
  await page.selectOption('#model', 'cifar10-resnet26');
  await demoReady('cifar10-resnet26');
  await page.evaluate(() => {
    const w = window as unknown as { demo: Demo; restarts: unknown[] };
    w.restarts = [];
    w.demo.el.addEventListener('restart', (e) => w.restarts.push((e as CustomEvent).detail));
  });
  await page.click('#run');
  await waitSteps(11); // the client checkpoints every 10 steps
  await page.evaluate(() => {
    const el = (window as unknown as { demo: { el: { client: { worker: Worker } } } }).demo.el;
    el.client.worker.terminate();
  });
  await page.waitForFunction(() => (window as unknown as { restarts: unknown[] }).restarts.length > 0);
  const at = await adaptedSteps();
  await waitSteps(at + 3);
  await page.click('#run');
  const r = await page.evaluate(() => ({
    restarts: (window as unknown as { restarts: { reason: string; backend: string; restoredSteps: number | null }[] }).restarts,
    status: document.getElementById('status')!.textContent!,
    element: (window as unknown as { demo: Demo }).demo.el.shadowRoot.querySelector('.status')!.textContent!,
  }));
  console.log(`demo: ${r.status} -> ${r.element}`);
  assert.equal(r.restarts.length, 1);
  assert.equal(r.restarts[0]!.reason, 'the worker ended (crashed or terminated)');
  assert.ok(r.restarts[0]!.restoredSteps !== null && r.restarts[0]!.restoredSteps >= 10, `restored ${r.restarts[0]!.restoredSteps}`);
  assert.match(r.status, /^runtime worker restarted on \w+ \(the worker ended \(crashed or terminated\)\); adapted state of step \d+ restored$/);
  // Steps count on from the restored checkpoint.
  const steps = Number(/ (\d+) steps /.exec(r.element)?.[1]);
  assert.ok(steps > r.restarts[0]!.restoredSteps!, r.element);
  assert.deepEqual(errors, []);
});
