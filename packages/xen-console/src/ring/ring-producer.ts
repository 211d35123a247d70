import type { RingMemory } from './memory';
import { indicesOutOfRange, ownIndexTampered, type RingCorruption } from './ring-corruption';
import type { RingLevel } from './ring-consumer';
import type { RingHalf } from './ring-half';
import { isRingIndex, ringAdvance, ringDistance, ringSlot } from './ring-index';

/** One pass of a producer: how much of the data went in, whether to notify, or why not. */
export interface RingWriteResult {
  /** Bytes taken from the front of the data: what fitted, possibly 0. */
  readonly written: number;
  /** We published data: the caller must notify the peer. */
  readonly notify: boolean;
  /** Set when the ring's indices were found corrupt: nothing was written. */
  readonly corrupt?: RingCorruption;
}

type Snapshot = { readonly ok: true; readonly used: number } | { readonly ok: false; readonly corrupt: RingCorruption };

/**
 * The producing side of one half of the console page. The peer owns `cons`; we own `prod` and
 * keep the only copy we trust (xenconsoled re-reads `in_prod` from the page; we do not). Each
 * pass loads the peer's `cons` once, checks our `prod` on the page against our copy, validates
 * `(prod - cons) >>> 0 <= size` (xenconsoled `ring_free_bytes`, Linux `__write_console`), writes
 * what fits in at most two `writeBytes`, fences, release-stores `prod` and asks for a notify.
 */
export class RingProducer {
  readonly half: RingHalf;
  readonly #memory: RingMemory;
  #prod: number;

  /** `prod`: where we start; by default the value on the page now (adopted once, at attach). */
  constructor(memory: RingMemory, half: RingHalf, prod?: number) {
    if (prod !== undefined && !isRingIndex(prod)) throw new RangeError(`${half.prodName} ${prod} is not a u32`);
    this.#memory = memory;
    this.half = half;
    this.#prod = prod ?? memory.loadU32(half.prodOffset);
  }

  /** Our private copy of `prod`. */
  get prod(): number {
    return this.#prod;
  }

  /** How many bytes a `write()` could place now, or why it could not. */
  space(): RingLevel {
    const snapshot = this.#snapshot();
    if (!snapshot.ok) return { bytes: 0, corrupt: snapshot.corrupt };
    return { bytes: this.half.size - snapshot.used };
  }

  /** Writes as much of `data` as fits; the caller keeps the rest for the next pass. */
  write(data: Uint8Array): RingWriteResult {
    const snapshot = this.#snapshot();
    if (!snapshot.ok) return { written: 0, notify: false, corrupt: snapshot.corrupt };
    const { dataOffset, size } = this.half;
    const count = Math.min(size - snapshot.used, data.length);
    if (count === 0) return { written: 0, notify: false };

    const prod = this.#prod;
    const slot = ringSlot(prod, size);
    const first = Math.min(count, size - slot);
    this.#memory.writeBytes(dataOffset + slot, data.subarray(0, first));
    if (count > first) this.#memory.writeBytes(dataOffset, data.subarray(first, count));

    // Data before index (xenconsoled's xen_wmb(), Linux's "write ring before updating pointer").
    this.#memory.fence();
    const next = ringAdvance(prod, count);
    this.#memory.storeU32(this.half.prodOffset, next);
    this.#prod = next;
    return { written: count, notify: true };
  }

  #snapshot(): Snapshot {
    const cons = this.#memory.loadU32(this.half.consOffset);
    const onPage = this.#memory.loadU32(this.half.prodOffset);
    if (onPage !== this.#prod) {
      return { ok: false, corrupt: ownIndexTampered(this.half, this.half.prodName, this.#prod, onPage) };
    }
    const used = ringDistance(this.#prod, cons);
    if (used > this.half.size) return { ok: false, corrupt: indicesOutOfRange(this.half, this.#prod, cons) };
    return { ok: true, used };
  }
}
