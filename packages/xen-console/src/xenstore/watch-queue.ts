/**
 * The events a watch has received and its reader has not taken yet, bounded. Below the limit it
 * is a plain FIFO. When full, a path already queued is dropped (the reader will see that path
 * anyway), and a new path collapses the whole queue into one event on the watched path itself:
 * "something below here changed, look again", which xenstore allows (watches may fire
 * spuriously). So a watch storm (XSA-326) never grows memory beyond `limit` paths.
 */
export class WatchEventQueue {
  private items: string[] = [];
  private head = 0;
  private readonly counts = new Map<string, number>();
  private droppedCount = 0;

  /**
   * @param limit - The most paths held (an integer of at least 1).
   * @param watchedPath - The watch's own path: the one event the queue collapses into when full.
   */
  constructor(
    readonly limit: number,
    private readonly watchedPath: string,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('the watch queue limit must be an integer >= 1');
  }

  /** Events waiting to be taken. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Events merged away because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Queues an event for `path`; when full, merges as the class description says. */
  push(path: string): void {
    if (this.size < this.limit) {
      this.add(path);
      return;
    }
    if (this.counts.has(path)) {
      this.droppedCount += 1;
      return;
    }
    this.droppedCount += this.size;
    this.items = [];
    this.head = 0;
    this.counts.clear();
    this.add(this.watchedPath);
  }

  /** Takes the oldest event's path; `undefined` when empty. */
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const path = this.items[this.head];
    this.head += 1;
    const n = this.counts.get(path) ?? 1;
    if (n <= 1) this.counts.delete(path);
    else this.counts.set(path, n - 1);
    // Compact now and then, so that taken entries do not pile up in the array.
    if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return path;
  }

  /** Drops every queued event (the dropped count stays). */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.counts.clear();
  }

  private add(path: string): void {
    this.items.push(path);
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
  }
}
