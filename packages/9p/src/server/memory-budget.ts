/**
 * One memory budget for what clients can make a server hold between and during requests
 * (directory listings kept for 9P2000/.u reads, fids, replies waiting to be written, frame
 * buffers), shared fairly by the connections it serves: a connection may grow while it holds
 * less than an equal share of the budget (the whole of it when alone) and while the server as a
 * whole stays under it. Past that, what it asks for is refused (ENOMEM, EMFILE for fids) or,
 * for replies, it is not read from until its replies drain.
 *
 * Figures are estimates of what the server allocates for each thing (see the *_COST
 * constants where they are charged), not measurements of the heap.
 */
export class MemoryBudget {
  /** The whole budget in bytes, shared by every connection. */
  readonly bytes: number;
  private used = 0;
  private readonly accounts = new Set<MemoryAccount>();

  constructor(options: { readonly bytes: number }) {
    const b = options.bytes;
    if (!Number.isSafeInteger(b) || b < 1) throw new RangeError('the memory budget must be a whole number of bytes, at least 1');
    this.bytes = b;
  }

  /** Bytes held by every connection together. */
  get inUse(): number {
    return this.used;
  }

  /** Connections sharing the budget. */
  get connections(): number {
    return this.accounts.size;
  }

  /** What one connection may hold now: an equal share of the budget. */
  get share(): number {
    return Math.floor(this.bytes / Math.max(1, this.accounts.size));
  }

  /** An account for one connection; close it when the connection ends. */
  open(): MemoryAccount {
    const a = new MemoryAccount(this);
    this.accounts.add(a);
    return a;
  }

  /** @internal */
  add(n: number): void {
    this.used += n;
  }

  /** @internal */
  remove(a: MemoryAccount): void {
    this.accounts.delete(a);
  }
}

/** One connection's part of a MemoryBudget. */
export class MemoryAccount {
  private held = 0;
  private closed = false;

  /** @param budget The server's budget this account draws on. */
  constructor(readonly budget: MemoryBudget) {}

  /** Bytes this connection holds. */
  get inUse(): number {
    return this.held;
  }

  /** Whether `n` more bytes fit in this connection's share and in the budget. */
  fits(n: number): boolean {
    return this.held + n <= this.budget.share && this.budget.inUse + n <= this.budget.bytes;
  }

  /** Whether this connection holds more than its share (it should shed load before taking more). */
  get over(): boolean {
    return this.held > this.budget.share || this.budget.inUse > this.budget.bytes;
  }

  /** Charges `n` bytes if they fit; says whether they did. */
  reserve(n: number): boolean {
    if (!this.fits(n)) return false;
    this.charge(n);
    return true;
  }

  /** Charges `n` bytes whether or not they fit (for what cannot be refused, only slowed). */
  charge(n: number): void {
    if (this.closed) return;
    this.held += n;
    this.budget.add(n);
  }

  /** Gives `n` bytes back (never more than the account holds). */
  release(n: number): void {
    if (this.closed) return;
    const k = Math.min(n, this.held);
    this.held -= k;
    this.budget.add(-k);
  }

  /** Gives everything back and leaves the budget. */
  close(): void {
    if (this.closed) return;
    this.budget.add(-this.held);
    this.held = 0;
    this.closed = true;
    this.budget.remove(this);
  }
}
