/**
 * Terminal progress: a bar with images/s (recent) and ETA (from the whole run so far).
 * On a TTY it redraws one line; otherwise it prints a line at most every `logEveryMs`.
 */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export function renderBar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(100 * f)).padStart(3)}%`;
}

export class Progress {
  private done = 0;
  private total = 0;
  private readonly start: number;
  private readonly recent: { t: number; images: number }[] = [];
  private lastPrint = 0;
  private label = '';

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = () => performance.now(),
    private readonly logEveryMs = 10_000,
  ) {
    this.start = now();
  }

  setTotal(total: number): void {
    this.total = total;
  }

  /** Images per second over the last 20 s, or over the last two reports when steps are slower than that. */
  rate(): number {
    const t = this.now();
    while (this.recent.length > 2 && t - this.recent[0]!.t > 20_000) this.recent.shift();
    if (this.recent.length === 0) return NaN;
    const span = t - this.recent[0]!.t;
    const images = this.recent.slice(1).reduce((s, r) => s + r.images, 0);
    return span > 0 && this.recent.length > 1 ? (1000 * images) / span : NaN;
  }

  line(): string {
    const elapsed = (this.now() - this.start) / 1000;
    const eta = this.done > 0 ? (elapsed * (this.total - this.done)) / this.done : NaN;
    const rate = this.rate();
    return `${renderBar(this.done, this.total)} ${this.done}/${this.total} img | ${Number.isFinite(rate) ? rate.toFixed(1) : '-'} img/s | ETA ${formatDuration(eta)} | ${this.label}`;
  }

  update(images: number, label: string): void {
    this.done += images;
    this.recent.push({ t: this.now(), images });
    this.label = label;
    const t = this.now();
    if (this.out.isTTY) {
      this.out.write(`\r${this.line().slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
    } else if (t - this.lastPrint >= this.logEveryMs || this.done === this.total) {
      this.lastPrint = t;
      this.out.write(`${this.line()}\n`);
    }
  }

  /** Print a message without breaking the bar. */
  log(message: string): void {
    this.out.write(this.out.isTTY ? `\r\x1b[K${message}\n` : `${message}\n`);
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
