import { PerformanceObserver } from 'node:perf_hooks';

/** Garbage-collection pauses of this thread while it runs, to tell them from stalls of the ring. */
export interface GcPauses {
  readonly count: number;
  /** Pauses of `longMs` or more, and the longest. */
  readonly long: number;
  readonly longestMs: number;
}

/** Records this thread's GC pauses until `stop()`. */
export class GcWatch {
  readonly #durations: number[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.#durations.push(e.duration);
  });

  constructor(private readonly longMs: number) {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops recording (entries of the last moments arrive asynchronously: take them first). */
  stop(): GcPauses {
    for (const e of this.#observer.takeRecords()) this.#durations.push(e.duration);
    this.#observer.disconnect();
    const d = this.#durations;
    return { count: d.length, long: d.filter((ms) => ms >= this.longMs).length, longestMs: Math.max(0, ...d) };
  }
}
