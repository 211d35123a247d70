import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Which ring is watched, and what counts as a stall on it. */
export type WatchedRing = 'out' | 'in';

/** What the watch saw. */
export interface RingWatchCounts {
  /** Samples taken. */
  readonly samples: number;
  /** Milliseconds the sampler ran. */
  readonly ms: number;
  /** Samples taken while dom0's operation was pending (a read on `out`, a write on `in`). */
  readonly waiting: number;
  /** Of those, samples where the ring held the opposite of what dom0 waited for. */
  readonly stalled: number;
  /**
   * The longest stall that lasted: from the first to the last of successive stalled samples
   * that found the ring's indices unchanged (nobody touched it in between); 0 if none.
   */
  readonly longestStallMs: number;
  /** Stalls that lasted LONG_STALL_MS or more (as `longestStallMs` measures them). */
  readonly longStalls: number;
}

/** What the sampler thread gets when it starts, and then the page to watch. */
export interface SamplerData {
  /** Two Int32 cells: SAMPLER_WAITING (set by dom0's loop), SAMPLER_STOP. */
  readonly control: SharedArrayBuffer;
  readonly ring: WatchedRing;
  readonly intervalMs: number;
}

export const SAMPLER_WAITING = 0;
export const SAMPLER_STOP = 1;
/**
 * A ring left untouched this long while dom0 waits is not an event on its way (the simulator
 * delivers one in tens of microseconds) but a ring nobody looks at: a lost wake-up, a masked
 * port, a descheduled thread.
 */
export const LONG_STALL_MS = 1;
const INTERVAL_MS = 0.25;

/**
 * Samples a console page's indices from outside the backend, in a thread of its own (so that
 * the samples do not line up with dom0's event loop) every quarter millisecond or so, and
 * counts the moments when dom0 waits although the ring says it need not:
 * - `out` (guest → dom0): a `read()` is pending and `out` is full (2048 bytes unread): the guest
 *   is blocked on a full ring while the reader waits for its bytes;
 * - `in` (dom0 → guest): a `write()` is pending and `in` is empty: the guest has taken every
 *   byte while dom0 still holds bytes for it.
 * The measured loop sets `waiting` around its pending operation. Start the watch before the
 * transfer (`RingWatch.start`), then `watch(page)` as soon as the page exists.
 */
export class RingWatch {
  readonly #control: Int32Array;
  readonly #worker: Worker;

  private constructor(worker: Worker, control: Int32Array) {
    this.#worker = worker;
    this.#control = control;
  }

  /** Starts the sampler thread (compiled JavaScript: build first) and waits until it is ready. */
  static async start(ring: WatchedRing): Promise<RingWatch> {
    const control = new Int32Array(new SharedArrayBuffer(8));
    const data: SamplerData = { control: control.buffer as SharedArrayBuffer, ring, intervalMs: INTERVAL_MS };
    const worker = new Worker(join(__dirname, '..', 'dist', 'xen-ring-sampler.js'), { workerData: data });
    await once(worker, 'message');
    return new RingWatch(worker, control);
  }

  /** Starts sampling `page` (the console page's shared memory). */
  watch(page: SharedArrayBuffer): void {
    this.#worker.postMessage(page);
  }

  set waiting(value: boolean) {
    Atomics.store(this.#control, SAMPLER_WAITING, value ? 1 : 0);
  }

  /** Stops the sampler; what it saw. */
  async stop(): Promise<RingWatchCounts> {
    const counted = once(this.#worker, 'message');
    Atomics.store(this.#control, SAMPLER_STOP, 1);
    Atomics.notify(this.#control, SAMPLER_STOP);
    const [counts] = (await counted) as [RingWatchCounts];
    await this.#worker.terminate();
    return counts;
  }

  /** Ends the sampler thread at once (on a failed run). */
  async abandon(): Promise<void> {
    await this.#worker.terminate();
  }
}
