import { endianness } from 'node:os';
import { CONSOLE_LAYOUT } from '../ring/layout';
import { CheckedPage, type PageOptions } from './page-access';

/**
 * A page in a `SharedArrayBuffer`, safe to share with a `worker_thread` (post the `buffer`).
 * Indices go through `Atomics.load`/`Atomics.store` (sequentially consistent, so at least the
 * acquire/release that `RingMemory` promises); data goes through `TypedArray.set`, ordered by the
 * index accesses around it. Several `SabPage`s over one buffer are several mappings of one page.
 */
export class SabPage extends CheckedPage {
  readonly #sab: SharedArrayBuffer;
  readonly #words: Uint32Array;
  readonly #bytes: Uint8Array;
  /** A private word for `fence()`: a sequentially consistent read-modify-write is a full barrier. */
  readonly #fenceCell = new Int32Array(new SharedArrayBuffer(4));

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(CONSOLE_LAYOUT.PAGE_SIZE), options: PageOptions = {}) {
    super(options);
    // The indices are little-endian u32 on the wire; a Uint32Array uses the host's order.
    if (endianness() !== 'LE') throw new Error('SabPage needs a little-endian host');
    if (buffer.byteLength !== CONSOLE_LAYOUT.PAGE_SIZE) {
      throw new RangeError(`a page is ${CONSOLE_LAYOUT.PAGE_SIZE} bytes, not ${buffer.byteLength}`);
    }
    this.#sab = buffer;
    this.#words = new Uint32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
  }

  /** The shared memory behind the page, to hand to another thread; throws after unmap. */
  get buffer(): SharedArrayBuffer {
    this.checkMapped('buffer');
    return this.#sab;
  }

  protected load(offset: number): number {
    return Atomics.load(this.#words, offset >>> 2);
  }

  protected store(offset: number, value: number): void {
    Atomics.store(this.#words, offset >>> 2, value);
  }

  protected copyOut(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    target.set(this.#bytes.subarray(offset, offset + length), targetOffset);
  }

  protected copyIn(offset: number, source: Uint8Array): void {
    this.#bytes.set(source, offset);
  }

  protected fullBarrier(): void {
    Atomics.add(this.#fenceCell, 0, 0);
  }
}
