/**
 * The demo page (index.html): a <tta-classifier> / <tta-segmenter> fed from the labelled
 * samples, a camera, a video file or dropped images, a corruption simulator, live plots of
 * the adapted model against the frozen source model, and human feedback on the last batch.
 */
import '../components/index.ts';
import type { TTAElement, TTAStepDetail } from '../components/tta-element.ts';
import { fetchShippedCard, shippedModelNames, datasetOf } from '../components/catalog.ts';
import { drawRgb } from '../components/tta-classifier.ts';
import { ALL_CORRUPTIONS } from '../data/corruptions/index.ts';
import type { ModelCard } from '../model/cards.ts';
import { METHODS } from '../methods/index.ts';
import { drawBars, drawLines, type LineSeries } from './plots.ts';
import { sampleStream } from './samples.ts';
import { Series, WindowAccuracy } from './stats.ts';
import type { LaneName } from './lanes.ts';
import type { RestartEvent } from '../runtime/client.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const LANES: { lane: LaneName; label: string; color: string; dashed?: boolean }[] = [
  { lane: 'source', label: 'source', color: '#8a94a6', dashed: true },
  { lane: 'adapted', label: 'adapted', color: '#2457c5' },
  { lane: 'unsupervised', label: 'no feedback', color: '#e07b1a' },
];
const HISTORY = 120;

/**
 * The method until the user picks one. Camera and video frames are correlated over seconds:
 * Tent and BN, which normalise with each batch's statistics, lose accuracy on them, RoTTA
 * (robust statistics, a class-balanced memory) does not (measured, docs/demo.md). RoTTA has
 * no segmentation loss: the segmenter gets BN-alpha, mostly source statistics.
 */
function defaultMethod(input: string, task: string | undefined): string {
  if (input !== 'camera' && input !== 'video') return 'tent';
  return task === 'segmentation' ? 'bn-alpha' : 'rotta';
}

interface LaneHistory {
  accuracy: Series;
  window: WindowAccuracy;
  entropy: Series;
  confidence: Series;
  classCounts: number[];
  /** Since the last reset, for the run's overall accuracy. */
  correct: number;
  labelled: number;
}

function option(select: HTMLSelectElement, value: string, text = value): void {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  select.append(o);
}

class Demo {
  el: TTAElement | undefined;
  card: ModelCard | undefined;
  history = new Map<LaneName, LaneHistory>();
  running = false;
  feedbackCount = 0;
  private loop: Promise<void> = Promise.resolve();
  private loadId = 0;
  /** The user picked a method: no more defaults by input. */
  methodChosen = false;
  loading = false;
  private startWhenLoaded = false;

  /** The settings the element was built from. */
  private loadedConfig = '';

  /**
   * Build the element for the chosen model, backend and batch size, unless it is already built
   * from them: a field fires 'change' again on blur after Enter committed it, which must not
   * throw away the adapted model.
   */
  async load(): Promise<void> {
    const config = ['model', 'backend', 'batch'].map((f) => $<HTMLInputElement>(f).value).join('|');
    if (config === this.loadedConfig) return;
    this.loadedConfig = config;
    try {
      await this.build();
    } catch (err) {
      this.loadedConfig = '';
      throw err;
    }
  }

  private async build(): Promise<void> {
    const id = ++this.loadId;
    const name = $<HTMLSelectElement>('model').value;
    this.loading = true;
    this.say(`loading ${name}...`);
    this.stop();
    await this.loop;
    const card = await fetchShippedCard(name);
    if (id !== this.loadId) return; // a newer load (another control changed) wins
    this.card = card;
    if (!this.methodChosen) $<HTMLSelectElement>('method').value = defaultMethod($<HTMLSelectElement>('input').value, card.task);
    const tag = this.card.task === 'segmentation' ? 'tta-segmenter' : 'tta-classifier';
    const el = document.createElement(tag) as TTAElement;
    el.setAttribute('model', name);
    el.setAttribute('method', $<HTMLSelectElement>('method').value);
    el.setAttribute('backend', $<HTMLSelectElement>('backend').value);
    el.setAttribute('batch-size', $<HTMLInputElement>('batch').value);
    el.addEventListener('prediction', (e) => this.onPrediction((e as CustomEvent<TTAStepDetail>).detail));
    el.addEventListener('error', (e) => this.say(`error: ${(e as unknown as CustomEvent<{ message: string }>).detail.message}`));
    el.addEventListener('restart', (e) => {
      const r = (e as CustomEvent<RestartEvent>).detail;
      this.say(`runtime worker restarted on ${r.backend} (${r.reason}); ${r.restoredSteps === null ? 'no checkpoint yet' : `adapted state of step ${r.restoredSteps} restored`}`);
    });
    this.el?.stop();
    $('host').replaceChildren(el);
    this.el = el;
    this.clearHistory();
    await el.whenReady();
    if (id !== this.loadId) return;
    this.loading = false;
    this.applyCorruption();
    const b = el.backendInfo!;
    this.say(`${name} on ${b.backend}${b.backend === 'wasm' ? ` (${b.wasmThreads} threads)` : ''}`);
    if (this.startWhenLoaded) {
      this.startWhenLoaded = false;
      this.start();
    }
  }

  say(text: string): void {
    $('status').textContent = text;
  }

  clearHistory(): void {
    this.history.clear();
    this.feedbackCount = 0;
    $('feedbackInfo').textContent = '';
    $('thumbs').replaceChildren();
    this.draw();
  }

  applyCorruption(): void {
    const name = $<HTMLSelectElement>('corruption').value;
    const severity = Number($<HTMLInputElement>('severity').value);
    if (this.el) this.el.corruption = name === 'none' ? null : { name, severity };
  }

  private lane(lane: LaneName): LaneHistory {
    let h = this.history.get(lane);
    if (!h) {
      h = {
        accuracy: new Series(HISTORY),
        window: new WindowAccuracy(64),
        entropy: new Series(HISTORY),
        confidence: new Series(HISTORY),
        classCounts: new Array<number>(this.card!.output.classes).fill(0),
        correct: 0,
        labelled: 0,
      };
      // A lane that starts late (the no-feedback twin) lines up with the others on the time axis.
      const len = this.history.get('adapted')?.entropy.data.length ?? 0;
      for (let i = 0; i < len; i++) [h.accuracy, h.entropy, h.confidence].forEach((s) => s.push(NaN));
      this.history.set(lane, h);
    }
    return h;
  }

  onPrediction(d: TTAStepDetail): void {
    for (const { lane } of LANES) {
      const s = d.summaries[lane];
      if (!s) continue;
      const h = this.lane(lane);
      h.entropy.push(s.meanEntropy);
      h.confidence.push(s.meanConfidence);
      h.accuracy.push(s.labelled ? h.window.add(s.correct!, s.labelled) : NaN);
      h.correct += s.correct ?? 0;
      h.labelled += s.labelled ?? 0;
      // Exponentially fading class histogram: recent batches dominate.
      h.classCounts = h.classCounts.map((c, k) => 0.8 * c + s.classCounts[k]! / s.count);
    }
    if (this.card!.task === 'classification') this.showThumbs(d);
    this.draw();
  }

  draw(): void {
    const pick = (f: (h: LaneHistory) => Series): LineSeries[] =>
      LANES.filter((l) => this.history.has(l.lane)).map((l) => ({ label: l.label, color: l.color, dashed: l.dashed, values: f(this.history.get(l.lane)!).data }));
    const metric = this.card?.task === 'segmentation' ? 'pixel accuracy' : 'accuracy';
    drawLines($('plotAccuracy'), `${metric} (last 64)`, pick((h) => h.accuracy), [0, 1]);
    drawLines($('plotEntropy'), 'mean entropy', pick((h) => h.entropy));
    drawLines($('plotConfidence'), 'mean confidence', pick((h) => h.confidence), [0, 1]);
    const names = this.card?.classNames ?? [];
    drawBars(
      $('plotClasses'),
      'predicted classes (recent)',
      names,
      LANES.filter((l) => this.history.has(l.lane)).map((l) => {
        const c = this.history.get(l.lane)!.classCounts;
        const total = c.reduce((a, b) => a + b, 0) || 1;
        return { color: l.color, fractions: c.map((v) => v / total) };
      }),
    );
  }

  showThumbs(d: TTAStepDetail): void {
    const [n, h, w] = d.shape;
    const pred = d.step.lanes.adapted!;
    const c = pred.shape[1]!;
    const names = this.card!.classNames;
    const cells = Array.from({ length: Math.min(n, 16) }, (_, i) => {
      const image = d.images.slice(i * h * w * 3, (i + 1) * h * w * 3);
      const cell = document.createElement('div');
      cell.className = 'thumb';
      const canvas = document.createElement('canvas');
      drawRgb(canvas, image, h, w);
      const cls = pred.labels[i]!;
      const text = document.createElement('div');
      text.className = 'pred';
      const truth = d.labels?.[i];
      if (truth !== undefined && truth !== cls) text.classList.add('wrong');
      text.textContent = `${names[cls] ?? cls} ${(100 * pred.probs[i * c + cls]!).toFixed(0)}%`;
      text.title = truth !== undefined ? `true: ${names[truth] ?? truth}` : '';
      const acts = document.createElement('div');
      acts.className = 'acts';
      const mark = (label: string, title: string, run: () => Promise<number>) => {
        const b = document.createElement('button');
        b.textContent = label;
        b.title = title;
        b.onclick = () => void run().then((size) => this.marked(cell, size));
        return b;
      };
      acts.append(
        mark('✓', 'prediction is right', () => this.el!.feedback(image, { kind: 'label', cls })),
        mark('✗', 'prediction is wrong', () => this.el!.feedback(image, { kind: 'not', cls })),
      );
      cell.append(canvas, text, acts);
      if (names.length <= 20) {
        const sel = document.createElement('select');
        sel.title = 'true label';
        option(sel, '', 'label...');
        names.forEach((nm, k) => option(sel, String(k), nm));
        sel.onchange = () => void this.el!.feedback(image, { kind: 'label', cls: Number(sel.value) }).then((size) => this.marked(cell, size));
        cell.append(sel);
      }
      return cell;
    });
    $('thumbs').replaceChildren(...cells);
  }

  marked(cell: HTMLElement, bufferSize: number): void {
    cell.classList.add('marked');
    this.feedbackCount++;
    $('feedbackInfo').textContent = `${this.feedbackCount} marks given, ${bufferSize} images in the feedback buffer; the orange lines show the same method without feedback.`;
  }

  start(): void {
    if (this.loading) {
      // E.g. Start clicked while a changed field's blur is reloading the model: start once loaded.
      this.startWhenLoaded = true;
      return;
    }
    if (!this.el || this.running) return;
    const input = $<HTMLSelectElement>('input').value;
    this.running = true;
    $('run').textContent = 'Pause';
    if (input === 'samples') {
      this.loop = this.runSamples();
    } else if (input === 'camera' || input === 'video') {
      const file = $<HTMLInputElement>('videoFile').files?.[0];
      if (input === 'video' && !file) {
        this.running = false;
        $('run').textContent = 'Start';
        $<HTMLInputElement>('videoFile').click();
        return;
      }
      this.el.setAttribute('source', input === 'camera' ? 'camera' : URL.createObjectURL(file!));
      this.el.start().catch(() => this.stop());
    } else {
      this.running = false;
      $('run').textContent = 'Start';
    }
  }

  private async runSamples(): Promise<void> {
    const stream = sampleStream(datasetOf(this.card!), Number($<HTMLInputElement>('batch').value) || 16);
    try {
      for await (const b of stream) {
        if (!this.running || !this.el) break;
        try {
          await this.el.feed(b.frames, b.labels);
        } catch (err) {
          // The worker crashed and is being restarted with the last checkpoint: go on with the next batch.
          if (!(err instanceof Error && err.name === 'WorkerStoppedError' && this.el.willRestart)) throw err;
        }
      }
    } catch (err) {
      this.say(`error: ${err instanceof Error ? err.message : String(err)}`);
      this.stop();
    }
  }

  stop(): void {
    this.running = false;
    this.startWhenLoaded = false;
    this.el?.stop();
    $('run').textContent = 'Start';
  }

  async feedFiles(files: readonly File[]): Promise<void> {
    const bitmaps = await Promise.all(files.filter((f) => f.type.startsWith('image/')).map((f) => createImageBitmap(f)));
    if (bitmaps.length && this.el) await this.el.feed(bitmaps);
  }
}

const demo = new Demo();
(window as unknown as { demo: Demo }).demo = demo;

function init(): void {
  shippedModelNames().forEach((n) => option($('model'), n));
  if (shippedModelNames().includes('cifar10-resnet26')) $<HTMLSelectElement>('model').value = 'cifar10-resnet26';
  // EATA needs clean source images for its Fisher term, which a live demo stream lacks.
  for (const m of METHODS.values()) if (!m.needsSourceData) option($('method'), m.name, m.title);
  $<HTMLSelectElement>('method').value = 'tent';
  option($('corruption'), 'none');
  ALL_CORRUPTIONS.forEach((c) => option($('corruption'), c, c.replace(/_/g, ' ')));
  $<HTMLSelectElement>('corruption').value = 'gaussian_noise';
  const reload = () => demo.load().catch((e: unknown) => demo.say(`error: ${e instanceof Error ? e.message : String(e)}`));
  for (const id of ['model', 'backend', 'batch']) $(id).addEventListener('change', reload);
  const setMethod = (name: string) => {
    $<HTMLSelectElement>('method').value = name;
    demo.el?.setAttribute('method', name);
    demo.clearHistory();
  };
  $('method').addEventListener('change', () => {
    demo.methodChosen = true;
    setMethod($<HTMLSelectElement>('method').value);
  });
  $('corruption').addEventListener('change', () => demo.applyCorruption());
  $('severity').addEventListener('input', () => {
    $('severityOut').textContent = $<HTMLInputElement>('severity').value;
    demo.applyCorruption();
  });
  $('input').addEventListener('change', () => {
    demo.stop();
    const method = defaultMethod($<HTMLSelectElement>('input').value, demo.card?.task);
    if (!demo.methodChosen && method !== $<HTMLSelectElement>('method').value) setMethod(method);
    $('drop').hidden = $<HTMLSelectElement>('input').value !== 'images';
    if ($<HTMLSelectElement>('input').value === 'video') $<HTMLInputElement>('videoFile').click();
  });
  $('videoFile').addEventListener('change', () => demo.start());
  $('run').addEventListener('click', () => (demo.running ? demo.stop() : demo.start()));
  $('reset').addEventListener('click', () => void demo.el?.reset().then(() => demo.clearHistory()));
  $('save').addEventListener('click', () => void demo.el?.saveState().then((s) => demo.say(`saved ${s.model} after ${s.steps} steps`)));
  $('restore').addEventListener('click', () => void demo.el?.restoreState().then((ok) => demo.say(ok ? 'restored the saved state' : 'no saved state for this model')));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    demo.feedFiles([...(e.dataTransfer?.files ?? [])]).catch((err: unknown) => demo.say(`error: ${err instanceof Error ? err.message : String(err)}`));
  });
  window.addEventListener('resize', () => demo.draw());
  void reload();
}

init();
