/**
 * When a guest issued its writes, in shared memory that the hypervisor's thread reads: cell 0
 * counts the writes, cells 1..n-1 hold the `process.hrtime.bigint()` of the most recent ones
 * (write `i` in cell `1 + i % (n - 1)`). `process.hrtime` is the monotonic clock every thread of
 * the process shares, so a stamp compares with a time taken in another thread: this is how the
 * latency from a guest's write to dom0's read is measured.
 */
export class WriteStamps {
  /** The shared memory, to hand to the guest's thread. */
  readonly buffer: SharedArrayBuffer;
  readonly #cells: BigInt64Array;

  /** Room for the times of the last `slots` writes. */
  static create(slots: number): WriteStamps {
    if (!Number.isInteger(slots) || slots < 1 || slots > 1 << 24) throw new RangeError(`slots must be 1..2^24, not ${slots}`);
    return new WriteStamps(new SharedArrayBuffer((slots + 1) * 8));
  }

  /** Another view of stamps made elsewhere (the other thread's side). */
  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength < 16 || buffer.byteLength % 8 !== 0) throw new RangeError('not a write-stamps buffer');
    this.buffer = buffer;
    this.#cells = new BigInt64Array(buffer);
  }

  /** How many writes' times are kept (the latest ones). */
  get slots(): number {
    return this.#cells.length - 1;
  }

  /** Writes issued so far. */
  get count(): number {
    return Number(Atomics.load(this.#cells, 0));
  }

  /** Records a write issued now: the time first, then the count that publishes it. */
  stamp(now: bigint = process.hrtime.bigint()): void {
    const i = Atomics.load(this.#cells, 0);
    Atomics.store(this.#cells, 1 + Number(i % BigInt(this.slots)), now);
    Atomics.store(this.#cells, 0, i + 1n);
  }

  /** When write `i` (0-based) was issued, while it is among the last `slots` writes. */
  at(i: number): bigint | undefined {
    const count = this.count;
    if (!Number.isInteger(i) || i < 0 || i >= count || i < count - this.slots) return undefined;
    return Atomics.load(this.#cells, 1 + (i % this.slots));
  }

  /** When the latest write was issued. */
  latest(): bigint | undefined {
    return this.at(this.count - 1);
  }
}
