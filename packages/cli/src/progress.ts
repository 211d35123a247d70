import { formatBytes } from '@flow/core';

/** One frame of a transfer's progress bar, e.g. `[#####-----]  50.0%  5.00 MiB / 10.00 MiB  2.50 MiB/s`. */
export function progressLine(done: number, total: number | undefined, elapsedMs: number, width = 24): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const speed = `${formatBytes(rate)}/s`;
  if (total === undefined || total <= 0) return `${formatBytes(done)}  ${speed}`;
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return `${bar} ${(fraction * 100).toFixed(1).padStart(5)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${speed}`;
}

/** Where a progress bar draws: a terminal, redrawn in place. */
export interface ProgressTarget {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress bar with rate for get/put, drawn on stderr only when stderr is a terminal (in a
 * pipe or a log file it would be noise), at most ten times a second.
 */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private done = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number | undefined,
    private readonly target: ProgressTarget = process.stderr,
  ) {
    this.enabled = target.isTTY === true;
  }

  advance(bytes: number): void {
    this.done = this.total === undefined ? this.done + bytes : Math.min(this.total, this.done + bytes);
    const t = Date.now();
    if (this.enabled && t - this.lastDraw >= 100) {
      this.lastDraw = t;
      this.target.write(`\r${progressLine(this.done, this.total, t - this.started)}\x1b[K`);
    }
  }

  /**
   * Draws the final state and moves to a new line. The bar counts bytes on the wire, which
   * include a few message headers, so a finished transfer is shown as exactly its size.
   */
  finish(): void {
    if (this.total !== undefined) this.done = this.total;
    if (!this.enabled) return;
    this.target.write(`\r${progressLine(this.done, this.total, Date.now() - this.started)}\x1b[K\n`);
  }
}
