/**
 * The live progress line: on a terminal, one line rewritten in place (stderr, so stdout stays
 * clean for the tables); elsewhere (CI logs, tests) nothing until each run ends.
 */
import { rate } from './report/format.ts';

/** Reports what is running now. */
export class Progress {
  private readonly live = process.stderr.isTTY === true;
  private shown = false;

  /** Update the line: which run, how far, how fast so far. */
  update(label: string, elapsed: number, total: number, requests: number | undefined): void {
    if (!this.live) return;
    const speed = requests !== undefined && requests > 0 && elapsed >= 1 ? `  ${rate(requests / Math.max(1, Math.floor(elapsed)))} req/s` : '';
    const width = 20;
    const done = Math.min(width, Math.round((elapsed / total) * width));
    process.stderr.write(`\r\x1b[K${label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${elapsed.toFixed(1)}/${total} s${speed}`);
    this.shown = true;
  }

  /** Replace the live line with a permanent one. */
  line(text: string): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
    process.stderr.write(text + '\n');
  }
}
