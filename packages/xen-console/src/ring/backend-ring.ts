import type { RingMemory } from './memory';
import { RingConsumer, type RingLevel, type RingReadResult } from './ring-consumer';
import { IN_HALF, OUT_HALF } from './ring-half';
import { RingProducer, type RingWriteResult } from './ring-producer';

/** Where a ring starts; every index left out is adopted from the page when the ring attaches. */
export interface BackendRingStart {
  /** `out_cons`: where reading guest output starts (u32). */
  readonly outCons?: number;
  /** inProd. */
  readonly inProd?: number;
}

/**
 * The dom0 side of the console page: reads the guest's output from `out` (owning `out_cons`) and
 * writes the guest's input into `in` (owning `in_prod`). This is the half mirage's conback got
 * wrong (shared-memory-ring bug 1: it read `in`). Every call is one pass and returns at once; the
 * caller notifies the event channel when a result says `notify`, and decides what corruption
 * means for the console.
 */
export class BackendRing {
  readonly #output: RingConsumer;
  readonly #input: RingProducer;

  constructor(memory: RingMemory, start: BackendRingStart = {}) {
    this.#output = new RingConsumer(memory, OUT_HALF, start.outCons);
    this.#input = new RingProducer(memory, IN_HALF, start.inProd);
  }

  /** Takes up to `max` bytes of guest output. */
  read(max?: number): RingReadResult {
    return this.#output.read(max);
  }

  /** Puts as much of `data` as fits into the guest's input. */
  write(data: Uint8Array): RingWriteResult {
    return this.#input.write(data);
  }

  /** Guest output waiting in `out`. */
  pending(): RingLevel {
    return this.#output.pending();
  }

  /** Free space in `in`. */
  space(): RingLevel {
    return this.#input.space();
  }

  /** Our private copies of the indices we own. */
  get indices(): {
    /** Our copy of `outCons` (u32). */
    readonly outCons: number;
    /** Our copy of `inProd` (u32). */
    readonly inProd: number;
  } {
    return { outCons: this.#output.cons, inProd: this.#input.prod };
  }
}
