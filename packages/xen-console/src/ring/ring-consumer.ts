import type { RingMemory } from './memory';
import { indicesOutOfRange, ownIndexTampered, type RingCorruption } from './ring-corruption';
import type { RingHalf } from './ring-half';
import { isRingIndex, ringAdvance, ringDistance, ringSlot } from './ring-index';

/** One pass of a consumer: fresh bytes (or none), whether to notify the producer, or why not. */
export interface RingReadResult {
  /** A fresh buffer the caller owns, at least 1 byte; `undefined` when nothing was consumed. */
  readonly bytes: Uint8Array | undefined;
  /** We released ring space: the caller must notify the peer (there is no event index). */
  readonly notify: boolean;
  /** Set when the ring's indices were found corrupt: nothing was consumed. */
  readonly corrupt?: RingCorruption;
}

/** A snapshot of what a pass would see, without moving anything. */
export interface RingLevel {
  /** Bytes waiting to be read (consumer) or room to write (producer); 0 when corrupt. */
  readonly bytes: number;
  /** Set when the ring's indices were found corrupt. */
  readonly corrupt?: RingCorruption;
}

type Snapshot = { readonly ok: true; readonly prod: number } | { readonly ok: false; readonly corrupt: RingCorruption };

/**
 * The consuming side of one half of the console page. The peer owns `prod`; we own `cons` and
 * keep the only copy we trust. Each pass:
 * 1. loads the peer's `prod` once (acquire) and our `cons` from the page once, only to compare it
 *    with our copy (a different value means the peer wrote our index: corrupt, nothing moves);
 * 2. validates `(prod - cons) >>> 0 <= size` (xenconsoled `buffer_append`, Linux
 *    `domU_read_console`); out of range is corrupt, nothing moves, the call returns at once;
 * 3. copies the bytes out of shared memory once, in at most two `readBytes`, into a fresh buffer;
 * 4. fences, then release-stores the new `cons`, and says that the peer must be notified.
 */
export class RingConsumer {
  readonly half: RingHalf;
  readonly #memory: RingMemory;
  #cons: number;

  /** `cons`: where we start; by default the value on the page now (adopted once, at attach). */
  constructor(memory: RingMemory, half: RingHalf, cons?: number) {
    if (cons !== undefined && !isRingIndex(cons)) throw new RangeError(`${half.consName} ${cons} is not a u32`);
    this.#memory = memory;
    this.half = half;
    this.#cons = cons ?? memory.loadU32(half.consOffset);
  }

  /** Our private copy of `cons`. */
  get cons(): number {
    return this.#cons;
  }

  /** How many bytes a `read()` could take now, or why it could not. */
  pending(): RingLevel {
    const snapshot = this.#snapshot();
    if (!snapshot.ok) return { bytes: 0, corrupt: snapshot.corrupt };
    return { bytes: ringDistance(snapshot.prod, this.#cons) };
  }

  /** Consumes up to `max` bytes (default: the whole ring). */
  read(max: number = this.half.size): RingReadResult {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`read: max must be a positive integer, not ${max}`);
    const snapshot = this.#snapshot();
    if (!snapshot.ok) return { bytes: undefined, notify: false, corrupt: snapshot.corrupt };
    const cons = this.#cons;
    const count = Math.min(ringDistance(snapshot.prod, cons), max);
    if (count === 0) return { bytes: undefined, notify: false };

    const { dataOffset, size } = this.half;
    const bytes = new Uint8Array(count);
    const slot = ringSlot(cons, size);
    const first = Math.min(count, size - slot);
    this.#memory.readBytes(dataOffset + slot, first, bytes, 0);
    if (count > first) this.#memory.readBytes(dataOffset, count - first, bytes, first);

    // The copy must be complete before the producer may reuse the slots (xenconsoled's second
    // xen_mb(), Linux's "read ring before consuming" mb()); the release store alone would do on
    // a correct RingMemory, the fence keeps us right on one that only has plain stores.
    this.#memory.fence();
    const next = ringAdvance(cons, count);
    this.#memory.storeU32(this.half.consOffset, next);
    this.#cons = next;
    return { bytes, notify: true };
  }

  #snapshot(): Snapshot {
    const onPage = this.#memory.loadU32(this.half.consOffset);
    const prod = this.#memory.loadU32(this.half.prodOffset);
    if (onPage !== this.#cons) {
      return { ok: false, corrupt: ownIndexTampered(this.half, this.half.consName, this.#cons, onPage) };
    }
    if (ringDistance(prod, this.#cons) > this.half.size) {
      return { ok: false, corrupt: indicesOutOfRange(this.half, prod, this.#cons) };
    }
    return { ok: true, prod };
  }
}
