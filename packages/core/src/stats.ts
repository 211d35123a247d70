/**
 * Byte and operation counters. Unlike Node's `bytesWritten`, which counts bytes still queued in
 * user memory, `bytesAccepted` counts only bytes whose write promise resolved.
 */
export interface FlowStats {
  /** Bytes returned by reads so far. */
  readonly bytesRead: number;
  /** Reads that returned data (EOF and errors not counted). */
  readonly readOps: number;
  /** Bytes whose write resolved (accepted by the transport). */
  readonly bytesAccepted: number;
  /** Writes that were accepted, in whole or in part; a `writev` counts as one. */
  readonly writeOps: number;
  /** Bytes known to have left the process (handed to the kernel), where the transport knows. */
  readonly bytesFlushed: number | undefined;
  /** Milliseconds since the epoch, with sub-millisecond precision. */
  readonly openedAt: number;
  /** When the first read returned data, in milliseconds since the epoch; `undefined` before that. */
  readonly firstReadAt: number | undefined;
  /** When the latest read returned data, in milliseconds since the epoch; `undefined` before that. */
  readonly lastReadAt: number | undefined;
  /** When the first write was accepted, in milliseconds since the epoch; `undefined` before that. */
  readonly firstWriteAt: number | undefined;
  /** When the latest write was accepted, in milliseconds since the epoch; `undefined` before that. */
  readonly lastWriteAt: number | undefined;
}

// Read once: `performance.timeOrigin` is a getter, and an unbound `performance.now` checks its
// receiver on every call. Flows stamp every operation, so both costs showed in profiles.
const timeOrigin = performance.timeOrigin;
const monotonicNow = performance.now.bind(performance);

/** Wall-clock milliseconds with sub-millisecond precision. */
export function now(): number {
  return timeOrigin + monotonicNow();
}

/** Mutable counters a flow implementation keeps; `snapshot()` is what users see. */
export class StatsRecorder {
  /** See {@link FlowStats.bytesRead}. */
  bytesRead = 0;
  /** See {@link FlowStats.readOps}. */
  readOps = 0;
  /** See {@link FlowStats.bytesAccepted}. */
  bytesAccepted = 0;
  /** See {@link FlowStats.writeOps}. */
  writeOps = 0;
  /** See {@link FlowStats.bytesFlushed}; stays `undefined` until `recordFlushed` is first called. */
  bytesFlushed: number | undefined = undefined;
  /** When this recorder was created (the flow opened), in milliseconds since the epoch. */
  readonly openedAt = now();
  /** See {@link FlowStats.firstReadAt}. */
  firstReadAt: number | undefined;
  /** See {@link FlowStats.lastReadAt}. */
  lastReadAt: number | undefined;
  /** See {@link FlowStats.firstWriteAt}. */
  firstWriteAt: number | undefined;
  /** See {@link FlowStats.lastWriteAt}. */
  lastWriteAt: number | undefined;

  /** Counts `ops` reads (default one) that returned `bytes` bytes in all, and stamps the read times. */
  recordRead(bytes: number, ops = 1): void {
    const t = now();
    this.bytesRead += bytes;
    this.readOps += ops;
    this.firstReadAt ??= t;
    this.lastReadAt = t;
  }

  /** Counts `bytes` accepted by `ops` write operations (default 1), and stamps the write times. */
  recordWrite(bytes: number, ops = 1): void {
    const t = now();
    this.bytesAccepted += bytes;
    this.writeOps += ops;
    this.firstWriteAt ??= t;
    this.lastWriteAt = t;
  }

  /** Adds `bytes` handed to the kernel to `bytesFlushed`. */
  recordFlushed(bytes: number): void {
    this.bytesFlushed = (this.bytesFlushed ?? 0) + bytes;
  }

  /** A copy of the counters as they are now: what `flow.stats` returns. */
  snapshot(): FlowStats {
    return {
      bytesRead: this.bytesRead,
      readOps: this.readOps,
      bytesAccepted: this.bytesAccepted,
      writeOps: this.writeOps,
      bytesFlushed: this.bytesFlushed,
      openedAt: this.openedAt,
      firstReadAt: this.firstReadAt,
      lastReadAt: this.lastReadAt,
      firstWriteAt: this.firstWriteAt,
      lastWriteAt: this.lastWriteAt,
    };
  }
}

/** Bytes per second as a float; 0 when no time has passed. */
export function rate(bytes: number, startMs: number | undefined, endMs: number | undefined): number {
  if (startMs === undefined || endMs === undefined) return 0;
  const seconds = (endMs - startMs) / 1000;
  return seconds > 0 ? bytes / seconds : 0;
}

/**
 * Bytes in binary units. Whole byte counts print as integers; fractional values (rates) keep
 * two decimals at every unit, so that a slow rate prints as `0.25 B` rather than 0 or 17 digits.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) {
    if (Number.isInteger(value)) return `${value} B`;
    return Math.abs(value) >= 1 ? `${value.toFixed(2)} B` : `${value.toPrecision(3)} B`;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

/**
 * One line for logs: bytes and ops each way, with float rates over the flow's lifetime so far
 * (mirage's `pp_stats` divides integers and always prints 0).
 */
export function formatStats(stats: FlowStats, at: number = now()): string {
  const seconds = Math.max(0, (at - stats.openedAt) / 1000);
  const r = (n: number): string => (seconds > 0 ? `${formatBytes(n / seconds)}/s` : 'n/a');
  const ops = (n: number): string => (seconds > 0 ? `${formatRate(n / seconds)} ops/s` : 'n/a');
  return (
    `read ${formatBytes(stats.bytesRead)} in ${stats.readOps} ops (${r(stats.bytesRead)}, ${ops(stats.readOps)}); ` +
    `wrote ${formatBytes(stats.bytesAccepted)} in ${stats.writeOps} ops (${r(stats.bytesAccepted)}, ${ops(stats.writeOps)}); ` +
    `over ${seconds.toFixed(3)} s`
  );
}

/** A float that is never rounded down to 0 when it is not 0: small values keep 3 significant digits. */
function formatRate(value: number): string {
  if (value === 0 || value >= 100) return value.toFixed(1);
  return value.toPrecision(3);
}
