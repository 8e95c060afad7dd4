/**
 * Progress display for long commands: a cli-progress bar on a terminal, one line per report
 * otherwise (CI logs, pipes), so progress is visible either way.
 */
import cliProgress from 'cli-progress';

export interface ProgressLine {
  value: number;
  fields: Record<string, string>;
}

export class ProgressDisplay {
  private readonly bar: cliProgress.SingleBar | null;
  private started = false;
  // Log lines: the first report's value and time, from which the ETA is estimated.
  private first: { value: number; at: number } | null = null;

  constructor(
    private readonly total: number,
    private readonly format: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.bar = stream.isTTY
      ? new cliProgress.SingleBar(
          { format, stream, hideCursor: true, etaBuffer: 20, fps: 5 },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  update(line: ProgressLine): void {
    if (this.bar) {
      if (!this.started) this.bar.start(this.total, line.value, line.fields);
      else this.bar.update(line.value, line.fields);
      this.started = true;
      return;
    }
    const fields = Object.entries(line.fields).map(([k, v]) => `${k} ${v}`).join(' | ');
    this.stream.write(`${line.value}/${this.total} | ${fields}${this.eta(line.value)}\n`);
  }

  /** " | ETA 1m 20s" from the rate since the first report (nothing until there is a rate). */
  private eta(value: number): string {
    const now = Date.now();
    if (!this.first) {
      this.first = { value, at: now };
      return '';
    }
    const rate = (value - this.first.value) / (now - this.first.at);
    if (!(rate > 0) || value >= this.total) return '';
    const seconds = Math.round((this.total - value) / rate / 1000);
    const m = Math.floor(seconds / 60);
    return ` | ETA ${m > 0 ? `${m}m ` : ''}${seconds % 60}s`;
  }

  stop(): void {
    if (this.bar && this.started) this.bar.stop();
  }
}
