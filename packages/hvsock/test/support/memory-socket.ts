import type { NonBlockingSocket } from '../../src/socket';

/**
 * An in-memory double of a connected pair of non-blocking kernel stream sockets, modelled on
 * upstream's `lib_test/in_memory.ml` and on what Linux AF_VSOCK does: each direction has a
 * bounded kernel buffer; `read` gives -EAGAIN when it is empty and 0 after the peer's
 * SHUT_WR; `writev` takes what fits and gives -EAGAIN when nothing does; readiness is
 * level-triggered and always delivered on a later turn of the event loop. It records the size
 * of every call, and can inject faults.
 */
export interface MemorySocketOptions {
  /** Kernel buffer per direction, in bytes. Default 64 KiB. */
  readonly capacity?: number;
  /** Largest read the "kernel" returns at once (a transport MTU); default unlimited. */
  readonly maxRead?: number;
  /** Largest write it takes at once; default unlimited. */
  readonly maxWrite?: number;
}

export interface Faults {
  /** `read` fails with this errno once this many bytes were read. */
  readErrorAfter?: { bytes: number; errno: number };
  /** `writev` fails with this errno once this many bytes were written. */
  writeErrorAfter?: { bytes: number; errno: number };
}

const EAGAIN = 11;
const EBADF = 9;
const EPIPE = 32;
const ENOTCONN = 107;
const ECONNRESET = 104;

class Direction {
  chunks: Uint8Array[] = [];
  bytes = 0;
  /** The writer shut down (SHUT_WR) or closed. */
  ended = false;
  /** The writer vanished without a clean shutdown: the reader gets ECONNRESET after the data. */
  reset = false;
}

export class MemorySocket implements NonBlockingSocket {
  readonly reads: number[] = [];
  readonly writes: number[] = [];
  readonly faults: Faults = {};
  bytesRead = 0;
  bytesWritten = 0;
  closed = false;
  peer!: MemorySocket;
  private callback: ((status: number, readable: boolean, writable: boolean) => void) | undefined;
  private wantRead = false;
  private wantWrite = false;
  private scheduled = false;
  private readShut = false;

  constructor(
    readonly label: string,
    private readonly inbound: Direction,
    private readonly outbound: Direction,
    private readonly options: Required<MemorySocketOptions>,
  ) {}

  read(buffer: Uint8Array): number {
    if (this.closed) return -EBADF;
    const fault = this.faults.readErrorAfter;
    if (fault && this.bytesRead >= fault.bytes) return -fault.errno;
    const d = this.inbound;
    if (d.bytes === 0 || this.readShut) {
      if (d.reset) return -ECONNRESET;
      return d.ended || this.readShut ? 0 : -EAGAIN;
    }
    let limit = Math.min(buffer.length, this.options.maxRead);
    if (fault) limit = Math.min(limit, fault.bytes - this.bytesRead);
    let n = 0;
    while (n < limit && d.chunks.length > 0) {
      const c = d.chunks[0] as Uint8Array;
      const take = Math.min(c.length, limit - n);
      buffer.set(c.subarray(0, take), n);
      n += take;
      if (take === c.length) d.chunks.shift();
      else d.chunks[0] = c.subarray(take);
    }
    d.bytes -= n;
    this.bytesRead += n;
    this.reads.push(n);
    // Room appeared for the peer's writes.
    this.peer.poke();
    return n;
  }

  writev(chunks: readonly Uint8Array[]): number {
    if (this.closed) return -EBADF;
    const d = this.outbound;
    if (d.ended) return -EPIPE;
    if (this.peer.closed) return -ECONNRESET;
    const fault = this.faults.writeErrorAfter;
    if (fault && this.bytesWritten >= fault.bytes) return -fault.errno;
    let limit = Math.min(this.options.capacity - d.bytes, this.options.maxWrite);
    if (fault) limit = Math.min(limit, fault.bytes - this.bytesWritten);
    if (limit <= 0) return -EAGAIN;
    let n = 0;
    for (const c of chunks) {
      if (n >= limit) break;
      const take = Math.min(c.length, limit - n);
      // The kernel copies: later changes to the caller's buffer must not show.
      d.chunks.push(Uint8Array.prototype.slice.call(c, 0, take));
      n += take;
    }
    d.bytes += n;
    this.bytesWritten += n;
    this.writes.push(n);
    this.peer.poke();
    return n;
  }

  shutdown(how: 'read' | 'write'): number {
    if (this.closed) return -EBADF;
    if (how === 'read') {
      this.readShut = true;
      this.poke();
      return 0;
    }
    if (this.outbound.ended) return 0;
    this.outbound.ended = true;
    this.peer.poke();
    return 0;
  }

  watch(readable: boolean, writable: boolean): void {
    this.wantRead = readable;
    this.wantWrite = writable;
    this.poke();
  }

  onReady(callback: (status: number, readable: boolean, writable: boolean) => void): void {
    this.callback = callback;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.callback = undefined;
    // Like a kernel close: the peer sees EOF after the data, or a reset when this side had
    // unread data (Linux sends RST then).
    if (this.inbound.bytes > 0) this.outbound.reset = true;
    this.outbound.ended = true;
    this.peer.poke();
  }

  /** Ends this side as if the peer's machine vanished: the peer's reads fail with ECONNRESET. */
  vanish(): void {
    this.outbound.reset = true;
    this.outbound.ended = true;
    this.closed = true;
    this.callback = undefined;
    this.peer.poke();
  }

  /** Bytes sent by the peer and not yet read here. */
  get unread(): number {
    return this.inbound.bytes;
  }

  private readable(): boolean {
    return this.inbound.bytes > 0 || this.inbound.ended || this.inbound.reset || this.readShut;
  }

  private writable(): boolean {
    return this.outbound.ended || this.peer.closed || this.outbound.bytes < this.options.capacity;
  }

  /** Schedules a readiness check (level-triggered) on a later turn of the loop. */
  poke(): void {
    if (this.scheduled || this.closed || !this.callback) return;
    if (!this.wantRead && !this.wantWrite) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed || !this.callback) return;
      const r = this.wantRead && this.readable();
      const w = this.wantWrite && this.writable();
      if (!r && !w) return;
      this.callback(0, r, w);
      // Level-triggered: still ready and still wanted means told again.
      if ((this.wantRead && this.readable()) || (this.wantWrite && this.writable())) this.poke();
    });
  }
}

/** Two connected sockets: what `a` writes, `b` reads. */
export function memorySocketPair(options: MemorySocketOptions = {}): [MemorySocket, MemorySocket] {
  const o: Required<MemorySocketOptions> = {
    capacity: options.capacity ?? 64 * 1024,
    maxRead: options.maxRead ?? Number.MAX_SAFE_INTEGER,
    maxWrite: options.maxWrite ?? Number.MAX_SAFE_INTEGER,
  };
  const ab = new Direction();
  const ba = new Direction();
  const a = new MemorySocket('memory a', ba, ab, o);
  const b = new MemorySocket('memory b', ab, ba, o);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export { EAGAIN, EBADF, ECONNRESET, ENOTCONN, EPIPE };
