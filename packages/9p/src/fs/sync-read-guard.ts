// When the host export may read a file synchronously (pread on the event loop) instead of
// through Node's thread pool. From the page cache a synchronous read is several times cheaper
// than the thread-pool round trip a client with one read in flight waits for; but while it runs,
// every other connection of the process waits too. So every synchronous read is timed, and one
// that took long (the data was not cached: a slow or busy disk) sends reads back to the thread
// pool for a while, doubling the pause each time it happens again: a slow disk costs the other
// connections at most two slow reads per pause, not one per request. Two, because one slow
// read alone proves little on a busy machine: the scheduler may have run other processes in the
// middle of a page-cache read. That happens to one read in thousands; a disk that misses its
// cache is slow far more often, so it is a second slow read among the next few dozen that pauses.


/** A synchronous read slower than this (ms) means the disk, not the cache, answered. */
export const SLOW_SYNC_READ_MS = 4;
/** The first pause after a slow synchronous read (ms); each further slow read doubles it. */
const FIRST_PAUSE_MS = 1000;
/** The longest pause (ms). */
const MAX_PAUSE_MS = 60_000;
/** A slow read pauses when another slow read came at most this many synchronous reads before. */
export const SLOW_READ_WINDOW = 64;

/** Decides, read by read, whether a read may run synchronously; shared by one export's files. */
export class SyncReadGuard {
  private pausedUntil = 0;
  private pauseMs = FIRST_PAUSE_MS;
  /** Synchronous reads timed so far, and the number of the last slow one (-Infinity: none). */
  private reads = 0;
  private lastSlow = -Infinity;

  /**
   * `maxBytes`: reads larger than this always use the thread pool (0: all do).
   * `now`: the clock, in milliseconds (tests pass their own).
   */
  constructor(
    readonly maxBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a read of `bytes` may run synchronously now; if so, call `done` with its start. */
  allows(bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    return this.pausedUntil === 0 || this.now() >= this.pausedUntil;
  }

  /** The clock reading to pass to `done` (taken just before the read). */
  start(): number {
    return this.now();
  }

  /** Records how long a synchronous read that began at `started` took. */
  done(started: number): void {
    const now = this.now();
    this.reads++;
    if (now - started > SLOW_SYNC_READ_MS) {
      // A lone slow read among many fast ones is the scheduler's doing, not the disk's.
      const lone = this.reads - this.lastSlow > SLOW_READ_WINDOW;
      this.lastSlow = this.reads;
      if (lone) return;
      this.pausedUntil = now + this.pauseMs;
      this.pauseMs = Math.min(this.pauseMs * 2, MAX_PAUSE_MS);
    } else if (this.pausedUntil !== 0 && now >= this.pausedUntil + this.pauseMs) {
      // As long without trouble as the last pause: forgive, start small again.
      this.pausedUntil = 0;
      this.pauseMs = FIRST_PAUSE_MS;
    }
  }

  /** Whether reads are paused (sent to the thread pool) after a slow one. */
  get paused(): boolean {
    return this.pausedUntil !== 0 && this.now() < this.pausedUntil;
  }
}
