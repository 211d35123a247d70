import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | undefined | null = null;

/**
 * A full garbage collection, so that memory samples count what is retained rather than garbage
 * not yet collected. Node exposes `gc` only with `--expose-gc`; setting the flag at run time
 * makes it available to contexts created afterwards. Returns false when that is not possible.
 */
export function collectGarbage(): boolean {
  if (collector === null) {
    collector = undefined;
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') {
      collector = existing;
    } else {
      try {
        setFlagsFromString('--expose-gc');
        const fn: unknown = runInNewContext('gc');
        if (typeof fn === 'function') collector = fn as () => void;
      } catch {
        collector = undefined;
      }
    }
  }
  if (!collector) return false;
  // Twice: V8 frees the memory of dead ArrayBuffers on a background thread after a collection,
  // so right after one `gc()` the buffers it found dead may still be counted (megabytes, more so
  // on a busy machine); the next collection waits for that sweep to finish first.
  collector();
  collector();
  return true;
}

export interface MemorySample {
  readonly rss: number;
  readonly arrayBuffers: number;
}

export function sampleMemory(): MemorySample {
  collectGarbage();
  const m = process.memoryUsage();
  return { rss: m.rss, arrayBuffers: m.arrayBuffers };
}

/** How far two baseline samples may differ and still count as settled. */
const SETTLED_BYTES = 512 * 1024;
const SETTLE_TRIES = 20;
const SETTLE_PAUSE_MS = 10;

/**
 * A baseline sample taken once buffer memory has stopped moving. Whatever an earlier test left
 * behind (a teardown still releasing a queue of writes, say) would otherwise be counted in the
 * baseline and, once released, hide the same amount of growth in the case being measured.
 */
async function settledSample(): Promise<MemorySample> {
  let previous = sampleMemory();
  for (let i = 0; i < SETTLE_TRIES; i++) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
    const next = sampleMemory();
    if (Math.abs(next.arrayBuffers - previous.arrayBuffers) < SETTLED_BYTES) return next;
    previous = next;
  }
  return previous;
}

/** Tracks the peak growth over a baseline. */
export class MemoryWatch {
  private peakRss = 0;
  private peakArrayBuffers = 0;
  samples = 0;

  private constructor(private readonly baseline: MemorySample) {}

  /** A watch whose baseline is taken once buffer memory has settled. */
  static async start(): Promise<MemoryWatch> {
    return new MemoryWatch(await settledSample());
  }

  sample(): void {
    const s = sampleMemory();
    this.samples += 1;
    this.peakRss = Math.max(this.peakRss, s.rss - this.baseline.rss);
    this.peakArrayBuffers = Math.max(this.peakArrayBuffers, s.arrayBuffers - this.baseline.arrayBuffers);
  }

  get rssGrowth(): number {
    return this.peakRss;
  }

  get arrayBuffersGrowth(): number {
    return this.peakArrayBuffers;
  }
}
