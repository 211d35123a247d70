/**
 * One domain's event-channel state in shared memory, so that the domain can live in a
 * `worker_thread`: the 2-level ABI's pending and mask bitmaps, plus two doorbells.
 *
 * Layout (Int32 cells): [0] delivery sequence (bumped, then `Atomics.notify`, when an unmasked
 * port becomes pending: the domain's dispatcher waits on it); [1] closed flag (the domain was
 * destroyed); [2] send sequence (bumped when the domain asks for a send from another thread: the
 * hypervisor waits on it); [3] unused; then four bitmaps of `maxPorts` bits: pending, mask, echo
 * (a duplicate owed, for fault injection) and send requests.
 *
 * Every bit operation is an `Atomics` read-modify-write, so the hypervisor (one thread) and the
 * domain (maybe another) never lose each other's updates; raise and unmask each check the other
 * bit after their own write, so a wake-up cannot be lost between them.
 */

const DELIVER_SEQ = 0;
const CLOSED = 1;
const SEND_SEQ = 2;
const HEADER_CELLS = 4;
const BITMAPS = 4;
const PENDING = 0;
const MASK = 1;
const ECHO = 2;
const SEND = 3;

/** `Atomics.waitAsync` (ES2024; in Node since 16) without widening the package's `lib`. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * One domain's event channels in shared memory (pending and mask bitmaps of the 2-level ABI, and
 * two doorbells), so that the domain can run in a `worker_thread`. Every bit operation is an
 * `Atomics` read-modify-write; no wake-up is lost between a raise and an unmask.
 */
export class EventArea {
  /** The shared memory itself, to post to the domain's thread. */
  readonly buffer: SharedArrayBuffer;
  /** Ports are 1..maxPorts-1; port 0 is never valid, as in Xen. */
  readonly maxPorts: number;
  readonly #cells: Int32Array;
  readonly #words: number;

  /** A fresh area for `maxPorts` ports (a multiple of 32). */
  static create(maxPorts: number): EventArea {
    if (!Number.isInteger(maxPorts) || maxPorts < 32 || maxPorts % 32 !== 0) {
      throw new RangeError(`maxPorts must be a positive multiple of 32, not ${maxPorts}`);
    }
    return new EventArea(new SharedArrayBuffer((HEADER_CELLS + BITMAPS * (maxPorts / 32)) * 4));
  }

  /** Another view of an existing area (the other thread's side). */
  constructor(buffer: SharedArrayBuffer) {
    const cells = buffer.byteLength / 4;
    const words = (cells - HEADER_CELLS) / BITMAPS;
    if (!Number.isInteger(words) || words < 1) throw new RangeError('not an event area buffer');
    this.buffer = buffer;
    this.#cells = new Int32Array(buffer);
    this.#words = words;
    this.maxPorts = words * 32;
  }

  /** Whether `port` is a port number of this area: 1 to `maxPorts - 1`. */
  isValidPort(port: number): boolean {
    return Number.isInteger(port) && port > 0 && port < this.maxPorts;
  }

  /** True once the domain was destroyed (`close()`). */
  get closed(): boolean {
    return Atomics.load(this.#cells, CLOSED) !== 0;
  }

  /** Marks the domain gone and wakes everyone waiting on it. */
  close(): void {
    Atomics.store(this.#cells, CLOSED, 1);
    this.#wake(DELIVER_SEQ);
    this.#wake(SEND_SEQ);
  }

  /** Sets `port` pending; wakes the dispatcher if it was not pending and is not masked. */
  raise(port: number): {
    /** True when `port` was already pending: this event merged into it. */
    readonly coalesced: boolean;
  } {
    const before = this.#set(PENDING, port);
    if (before) return { coalesced: true };
    if (!this.#test(MASK, port)) this.#wake(DELIVER_SEQ);
    return { coalesced: false };
  }

  /**
   * Takes a pending, unmasked port for delivery: clears pending and masks it, as the Linux
   * evtchn driver disables the interrupt it delivers. An owed duplicate becomes pending again
   * (behind the mask, so it arrives after the next unmask). False when there is nothing to take.
   */
  claim(port: number): boolean {
    if (this.#test(MASK, port)) return false;
    if (!this.#clear(PENDING, port)) return false;
    this.#set(MASK, port);
    if (this.#clear(ECHO, port)) this.#set(PENDING, port);
    return true;
  }

  /** Lets `port` through again; a pending event is delivered now. */
  unmask(port: number): void {
    this.#clear(MASK, port);
    if (this.#test(PENDING, port)) this.#wake(DELIVER_SEQ);
  }

  /** Whether `port` has an event waiting to be delivered. */
  isPending(port: number): boolean {
    return this.#test(PENDING, port);
  }

  /** Whether `port` is masked (its events wait until unmasked). */
  isMasked(port: number): boolean {
    return this.#test(MASK, port);
  }

  /** Owes `port` one extra delivery (a duplicated event). */
  owe(port: number): void {
    this.#set(ECHO, port);
  }

  /** Clears every bit of `port` (when it is allocated or closed). */
  resetPort(port: number): void {
    for (let map = 0; map < BITMAPS; map++) this.#clear(map, port);
  }

  /** The domain's thread asks the hypervisor to send on `port`; repeated requests coalesce. */
  requestSend(port: number): void {
    if (!this.#set(SEND, port)) this.#wake(SEND_SEQ);
  }

  /** The hypervisor takes every send request at once. */
  takeSendRequests(): number[] {
    const ports: number[] = [];
    for (let w = 0; w < this.#words; w++) {
      const cell = HEADER_CELLS + SEND * this.#words + w;
      if (Atomics.load(this.#cells, cell) === 0) continue;
      const bits = Atomics.exchange(this.#cells, cell, 0);
      for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) ports.push(w * 32 + b);
    }
    return ports;
  }

  /** The current delivery sequence, to wait on. */
  deliverySeq(): number {
    return Atomics.load(this.#cells, DELIVER_SEQ);
  }

  /** The send doorbell's count: bumped whenever the domain asks for a send from another thread. */
  sendSeq(): number {
    return Atomics.load(this.#cells, SEND_SEQ);
  }

  /** Resolves when the delivery sequence moves past `seen` (at once if it already has). */
  waitDelivery(seen: number): Promise<void> | undefined {
    return this.#waitOn(DELIVER_SEQ, seen);
  }

  /** Resolves when the send sequence moves past `seen` (at once if it already has). */
  waitSend(seen: number): Promise<void> | undefined {
    return this.#waitOn(SEND_SEQ, seen);
  }

  /** Wakes the dispatcher without raising anything (it re-scans; used to stop it). */
  nudge(): void {
    this.#wake(DELIVER_SEQ);
  }

  /** Wakes the hypervisor's send forwarder without a request (used to stop it). */
  nudgeSend(): void {
    this.#wake(SEND_SEQ);
  }

  #waitOn(cell: number, seen: number): Promise<void> | undefined {
    const result = waitAsync(this.#cells, cell, seen);
    if (!result.async) return undefined;
    return result.value.then(() => undefined);
  }

  #wake(cell: number): void {
    Atomics.add(this.#cells, cell, 1);
    Atomics.notify(this.#cells, cell);
  }

  #cell(map: number, port: number): number {
    return HEADER_CELLS + map * this.#words + (port >>> 5);
  }

  /** Sets the bit; returns whether it was already set. */
  #set(map: number, port: number): boolean {
    const bit = 1 << (port & 31);
    return (Atomics.or(this.#cells, this.#cell(map, port), bit) & bit) !== 0;
  }

  /** Clears the bit; returns whether it was set. */
  #clear(map: number, port: number): boolean {
    const bit = 1 << (port & 31);
    return (Atomics.and(this.#cells, this.#cell(map, port), ~bit) & bit) !== 0;
  }

  #test(map: number, port: number): boolean {
    return (Atomics.load(this.#cells, this.#cell(map, port)) & (1 << (port & 31))) !== 0;
  }
}
