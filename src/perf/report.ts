/** `npm run perf` results: the JSON record and its Markdown rendering with ratios. */
import type { ForwardThroughput } from '../bench/types.ts';
import type { StepKind } from './steps.ts';
import type { BackendRun } from './page.ts';

export interface TorchResult {
  threads: number;
  step: StepKind;
  batch: number;
  msPerStep: number;
  imagesPerSec: number;
  iters: number;
}

export interface PerfReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; loadAvgStart: number[]; loadAvgEnd: number[]; node: string; browser?: string; commit?: string };
  backends: BackendRun[];
  /** Why a backend did not run at all. */
  failedBackends: { backend: string; error: string }[];
  torch?: { version: string; results: TorchResult[] } | { error: string };
  ort?: ForwardThroughput[] | { error: string };
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;
}

export function renderPerfMarkdown(r: PerfReport): string {
  const torch = r.torch && 'results' in r.torch ? r.torch.results : [];
  const ort = Array.isArray(r.ort) ? r.ort : [];
  const fastest = (xs: { imagesPerSec: number }[]) => (xs.length ? Math.max(...xs.map((x) => x.imagesPerSec)) : undefined);
  /** The fastest thread count measured for this step and batch (oversubscribed threads can be far slower). */
  const torchIps = (step: StepKind, batch: number, threads?: number) =>
    fastest(torch.filter((t) => t.step === step && t.batch === batch && (threads === undefined || t.threads === threads)));
  /** ORT with tfjs-wasm's thread count when the row has one, else its fastest. */
  const ortIps = (batch: number, threads?: number) => fastest(ort.filter((o) => o.batchSize === batch && (threads === undefined || o.threads === threads)));
  const m = r.machine;
  const lines = [
    `Measured ${r.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB), load average ${m.loadAvgStart.map((x) => x.toFixed(1)).join(' ')} at start, ${m.loadAvgEnd.map((x) => x.toFixed(1)).join(' ')} at end; ${m.browser ?? 'browser ?'}, Node ${m.node}${m.commit ? `, commit ${m.commit}` : ''}.`,
    '',
    'Images/s (median step). Ratios: tfjs / PyTorch CPU (same step, same batch, fastest thread count measured) and forward / onnxruntime-web wasm (same threads as the wasm row).',
    '',
    '| backend | batch | forward img/s | Tent img/s | full img/s | forward vs ORT | Tent vs torch | full vs torch | peak MB (tfjs) | leaked tensors |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const b of r.backends) {
    const name = b.info.backend + (b.info.wasmThreads ? ` (${b.info.wasmThreads} threads)` : '');
    const batches = [...new Set(b.results.map((x) => x.batch))];
    for (const batch of batches) {
      const get = (s: StepKind) => b.results.find((x) => x.batch === batch && x.step === s);
      const [f, t, a] = [get('forward'), get('tent'), get('full')];
      const peak = Math.max(...[f, t, a].map((x) => x?.peakBytes ?? 0));
      const leaked = [f, t, a].reduce((s, x) => s + (x?.leakedTensors ?? 0), 0);
      lines.push(
        `| ${name} | ${batch} | ${fmt(f?.imagesPerSec)} | ${fmt(t?.imagesPerSec)} | ${fmt(a?.imagesPerSec)} | ${ratio(f?.imagesPerSec, ortIps(batch, b.info.wasmThreads))} | ${ratio(t?.imagesPerSec, torchIps('tent', batch))} | ${ratio(a?.imagesPerSec, torchIps('full', batch))} | ${peak ? fmt(peak / 2 ** 20) : '-'} | ${leaked} |`,
      );
    }
  }
  for (const b of r.backends) {
    const a = b.info.adapter;
    if (b.info.backend === 'webgpu' && a) lines.push(`\n- webgpu adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(', ') || '(no info)'}${a.isFallbackAdapter ? ' (software fallback)' : ''}`);
  }
  for (const b of r.backends) for (const s of b.skipped) lines.push(`\n- ${b.info.backend}: ${s}`);
  for (const f of r.failedBackends) lines.push(`\n- ${f.backend} did not run: ${f.error}`);
  if (torch.length) {
    const t = r.torch as { version: string };
    lines.push('', `PyTorch ${t.version} CPU, fp32, images/s:`, '', '| threads | batch | forward | Tent | full |', '|---|---|---|---|---|');
    for (const threads of [...new Set(torch.map((x) => x.threads))]) {
      for (const batch of [...new Set(torch.map((x) => x.batch))]) {
        lines.push(`| ${threads} | ${batch} | ${fmt(torchIps('forward', batch, threads))} | ${fmt(torchIps('tent', batch, threads))} | ${fmt(torchIps('full', batch, threads))} |`);
      }
    }
  } else if (r.torch && 'error' in r.torch) lines.push('', `PyTorch baseline: ${r.torch.error}`);
  if (ort.length) {
    lines.push('', 'onnxruntime-web wasm, forward:', '', '| threads | batch | img/s |', '|---|---|---|');
    for (const o of ort) lines.push(`| ${o.threads ?? '-'} | ${o.batchSize} | ${fmt(o.imagesPerSec)} |`);
  } else if (r.ort && 'error' in r.ort) lines.push('', `onnxruntime-web baseline: ${r.ort.error}`);
  return lines.join('\n') + '\n';
}
