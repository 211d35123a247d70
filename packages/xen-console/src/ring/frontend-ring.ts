import type { RingMemory } from './memory';
import { RingConsumer, type RingLevel, type RingReadResult } from './ring-consumer';
import { IN_HALF, OUT_HALF } from './ring-half';
import { RingProducer, type RingWriteResult } from './ring-producer';

/** Where a ring starts; every index left out is adopted from the page when the ring attaches. */
export interface FrontendRingStart {
  /** `in_cons`: where reading the backend's input starts (u32). */
  readonly inCons?: number;
  /** outProd. */
  readonly outProd?: number;
}

/**
 * The guest side of the console page, as Linux `hvc_xen` drives it: reads `in` (owning
 * `in_cons`) and writes `out` (owning `out_prod`). Like Linux it refuses a pass whose
 * `prod - cons` exceeds the ring (its -EINVAL "Illegal ring page indices"); unlike Linux it also
 * keeps private copies of its own indices, so a backend that writes them is caught.
 */
export class FrontendRing {
  readonly #input: RingConsumer;
  readonly #output: RingProducer;

  constructor(memory: RingMemory, start: FrontendRingStart = {}) {
    this.#input = new RingConsumer(memory, IN_HALF, start.inCons);
    this.#output = new RingProducer(memory, OUT_HALF, start.outProd);
  }

  /** Takes up to `max` bytes of input from the backend. */
  read(max?: number): RingReadResult {
    return this.#input.read(max);
  }

  /** Puts as much of `data` as fits into the console output. */
  write(data: Uint8Array): RingWriteResult {
    return this.#output.write(data);
  }

  /** Input waiting in `in`. */
  pending(): RingLevel {
    return this.#input.pending();
  }

  /** Free space in `out`. */
  space(): RingLevel {
    return this.#output.space();
  }

  /** Our private copies of the indices we own. */
  get indices(): {
    /** Our copy of `inCons` (u32). */
    readonly inCons: number;
    /** Our copy of `outProd` (u32). */
    readonly outProd: number;
  } {
    return { inCons: this.#input.cons, outProd: this.#output.prod };
  }
}
