import {
  abortedError,
  closedError,
  createFlow,
  err,
  OK,
  type Flow,
  type FlowCapabilities,
  type FlowDriver,
  type FlowError,
  type InboundPort,
  type WriteResult,
} from '@flow/core';
import { errnoError } from './errors';
import { EAGAIN, type NonBlockingSocket } from './socket';

/** Options of `bufferedFlow`: the sizes that bound its memory, and what the flow declares. */
export interface BufferedFlowOptions {
  /**
   * The most bytes one system call reads or writes. Upstream's default is 8 KiB because Hyper-V
   * on 4.9 kernels failed silently above it; AF_VSOCK has no such limit. Default 64 KiB.
   */
  readonly messageSize?: number;
  /**
   * The most bytes queued in each direction: read from the socket and not yet taken by a reader,
   * and accepted from writers and not yet taken by the socket. Default 256 KiB.
   */
  readonly bufferSize?: number;
  /** The flow's `label`, for logs. Default: the socket's own `label`. */
  readonly label?: string;
  /** What the flow declares as its `capabilities`; the socket's kind decides them. */
  readonly capabilities: FlowCapabilities;
}

/** Default `messageSize`: 65536 bytes (64 KiB) per read or write system call. */
export const DEFAULT_MESSAGE_SIZE = 64 * 1024;
/** Default `bufferSize`: 262144 bytes (256 KiB) queued in each direction. */
export const DEFAULT_BUFFER_SIZE = 256 * 1024;
/** Reads per readiness event before yielding to the loop, so one busy socket cannot starve others. */
const READS_PER_EVENT = 32;

/**
 * The buffered flow over a non-blocking socket: upstream's `Buffering`/`Flow` with its bugs
 * fixed (see the package README). Reads fill a queue bounded by `bufferSize` and stop while it
 * is full; writes are queued up to `bufferSize` and resolve once queued, so a writer waits only
 * while the queue is full; a write larger than the queue streams through it piece by piece.
 * Buffers given with `transfer` are queued as they are; others are copied, so the caller may
 * reuse them as soon as the write resolves.
 */
export function bufferedFlow(socket: NonBlockingSocket, options: BufferedFlowOptions): Flow {
  const messageSize = options.messageSize ?? DEFAULT_MESSAGE_SIZE;
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!(Number.isInteger(messageSize) && messageSize >= 1)) throw new RangeError(`messageSize must be an integer >= 1, got ${String(messageSize)}`);
  if (!(Number.isInteger(bufferSize) && bufferSize >= 1)) throw new RangeError(`bufferSize must be an integer >= 1, got ${String(bufferSize)}`);
  return createFlow((port) => new SocketDriver(socket, port, messageSize, bufferSize), {
    capabilities: options.capabilities,
    label: options.label ?? socket.label,
    highWaterMark: bufferSize,
  });
}

/** A write that waits for room in the queue. */
interface PendingWrite {
  chunks: Uint8Array[];
  /** Index of the chunk still to queue, and the offset into it. */
  index: number;
  offset: number;
  accepted: number;
  readonly transfer: boolean;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (r: WriteResult) => void;
  onAbort: (() => void) | undefined;
}

class SocketDriver implements FlowDriver {
  // Inbound.
  private paused = false;
  private readEnded = false;

  // Outbound: chunks accepted and not yet taken by the socket.
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queued = 0;
  private pending: PendingWrite | undefined;
  private writeError: FlowError | undefined;
  private flushWaiters: Array<(r: WriteResult) => void> = [];

  private released = false;
  private watchingRead = false;
  private watchingWrite = false;

  constructor(
    private readonly socket: NonBlockingSocket,
    private readonly port: InboundPort,
    private readonly messageSize: number,
    private readonly bufferSize: number,
  ) {
    socket.onReady((status, readable, writable) => this.onReady(status, readable, writable));
    this.updateWatch();
  }

  // ---- Readiness ----

  private onReady(status: number, readable: boolean, writable: boolean): void {
    if (this.released) return;
    if (status < 0) {
      // Polling failed: the descriptor is unusable in both directions.
      const e = errnoError(status, 'poll');
      this.failWrites(e);
      this.endRead(e);
      this.updateWatch();
      return;
    }
    if (writable) this.flush();
    if (readable) this.readSome();
    this.updateWatch();
  }

  private updateWatch(): void {
    if (this.released) return;
    const read = !this.readEnded && !this.paused;
    const write = this.queued > 0 && this.writeError === undefined;
    if (read === this.watchingRead && write === this.watchingWrite) return;
    this.watchingRead = read;
    this.watchingWrite = write;
    this.socket.watch(read, write);
  }

  // ---- Reading ----

  private readSome(): void {
    for (let i = 0; i < READS_PER_EVENT && !this.readEnded && !this.paused && !this.released; i++) {
      const room = this.port.highWaterMark - this.port.buffered;
      if (room <= 0) return;
      const size = Math.min(this.messageSize, room);
      const buffer = Buffer.allocUnsafeSlow(size);
      const n = this.socket.read(buffer);
      if (n === -EAGAIN) return;
      if (n === 0) {
        this.endRead(undefined);
        return;
      }
      if (n < 0) {
        this.endRead(errnoError(n, 'read'));
        return;
      }
      // A short read keeps only what it needs, so a trickle of small reads cannot pin
      // messageSize bytes each.
      this.port.push(n === size ? buffer : n > size / 2 ? buffer.subarray(0, n) : Buffer.from(buffer.subarray(0, n)));
    }
  }

  private endRead(error: FlowError | undefined): void {
    if (this.readEnded) return;
    this.readEnded = true;
    if (error) this.port.fail(error);
    else this.port.end();
  }

  pause(): void {
    this.paused = true;
    this.updateWatch();
  }

  resume(): void {
    this.paused = false;
    this.updateWatch();
  }

  // ---- Writing ----

  write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer?: boolean): WriteResult | Promise<WriteResult> {
    if (this.writeError) return err(this.writeError);
    if (this.released) return err(closedError());
    const w: PendingWrite = {
      chunks: chunks as Uint8Array[],
      index: 0,
      offset: 0,
      accepted: 0,
      transfer: transfer === true,
      signal,
      resolve: noop,
      onAbort: undefined,
    };
    // An empty queue lets the caller's bytes go straight to the socket, uncopied.
    if (this.queued === 0) this.sendDirect(w);
    if (this.writeError) return err((this.writeError as FlowError).withBytesAccepted(w.accepted));
    this.enqueue(w);
    if (w.index === w.chunks.length) {
      this.updateWatch();
      return OK;
    }
    // The queue is full: wait until the socket takes some of it.
    return new Promise<WriteResult>((resolve) => {
      const pending: PendingWrite = { ...w, resolve };
      if (signal) {
        pending.onAbort = () => {
          if (this.pending !== pending) return;
          this.pending = undefined;
          resolve(err(abortedError(signal.reason).withBytesAccepted(pending.accepted)));
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.pending = pending;
      this.updateWatch();
    });
  }

  /** Writes from the caller's chunks while the socket takes them, `messageSize` at a time. */
  private sendDirect(w: PendingWrite): void {
    while (w.index < w.chunks.length) {
      const batch = gather(w.chunks, w.index, w.offset, this.messageSize);
      const n = this.socket.writev(batch);
      if (n === -EAGAIN) return;
      if (n < 0) {
        this.failWrites(errnoError(n, 'writev'));
        return;
      }
      advance(w, n);
      if (n === 0) return;
    }
  }

  /** Moves as much of `w` into the queue as there is room for. */
  private enqueue(w: PendingWrite): void {
    while (w.index < w.chunks.length && this.queued < this.bufferSize) {
      const chunk = w.chunks[w.index] as Uint8Array;
      const take = Math.min(chunk.length - w.offset, this.bufferSize - this.queued);
      const piece = w.offset === 0 && take === chunk.length ? chunk : chunk.subarray(w.offset, w.offset + take);
      // Without `transfer` the caller may reuse its buffer once the write resolves: copy.
      this.queue.push(w.transfer ? piece : Uint8Array.prototype.slice.call(piece));
      this.queued += take;
      advance(w, take);
    }
  }

  /** Hands queued bytes to the socket until it is full or the queue is empty. */
  private flush(): void {
    while (this.queued > 0 && this.writeError === undefined && !this.released) {
      const batch = gather(this.queue, this.queueHead, 0, this.messageSize);
      const n = this.socket.writev(batch);
      if (n === -EAGAIN || n === 0) break;
      if (n < 0) {
        this.failWrites(errnoError(n, 'writev'));
        return;
      }
      this.dropQueued(n);
      const w = this.pending;
      if (w) {
        this.enqueue(w);
        if (w.index === w.chunks.length) this.settlePending(OK);
      }
    }
    if (this.queued === 0) this.settleFlushWaiters(OK);
  }

  private dropQueued(n: number): void {
    this.queued -= n;
    let left = n;
    while (left > 0) {
      const head = this.queue[this.queueHead] as Uint8Array;
      if (head.length <= left) {
        left -= head.length;
        this.queue[this.queueHead] = EMPTY;
        this.queueHead += 1;
      } else {
        this.queue[this.queueHead] = head.subarray(left);
        left = 0;
      }
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private settlePending(r: WriteResult): void {
    const w = this.pending;
    if (!w) return;
    this.pending = undefined;
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(r.ok ? r : err(r.error.withBytesAccepted(w.accepted)));
  }

  private settleFlushWaiters(r: WriteResult): void {
    const waiters = this.flushWaiters;
    if (waiters.length === 0) return;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve(r);
  }

  /** A write failed: the error is sticky, queued bytes are lost, and every waiter learns it. */
  private failWrites(e: FlowError): void {
    if (this.writeError) return;
    this.writeError = e;
    this.queue = [];
    this.queueHead = 0;
    this.queued = 0;
    this.settlePending(err(e));
    this.settleFlushWaiters(err(e));
  }

  shutdownWrite(): Promise<WriteResult> {
    return this.flushed().then((r) => {
      if (!r.ok) return r;
      if (this.released) return err(closedError());
      const n = this.socket.shutdown('write');
      return n < 0 ? err(errnoError(n, 'shutdown')) : OK;
    });
  }

  /** Resolves once every queued byte went to the socket, or with the write error. */
  private flushed(): Promise<WriteResult> {
    if (this.writeError) return Promise.resolve(err(this.writeError));
    if (this.queued === 0) return Promise.resolve(OK);
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.updateWatch();
    });
  }

  // shutdownRead is the flow's own (emulated): bytes keep arriving and are dropped, so that the
  // peer is never stuck on a full socket buffer.

  // ---- Lifecycle ----

  abort(reason: FlowError): void {
    this.failWrites(reason);
    this.releaseSocket();
  }

  release(): void {
    this.releaseSocket();
  }

  private releaseSocket(): void {
    if (this.released) return;
    this.released = true;
    this.socket.watch(false, false);
    this.socket.close();
  }
}

const EMPTY = new Uint8Array(0);
const noop = (): void => undefined;

/** Up to `max` bytes of `chunks` from (index, offset), as views; no copy. */
function gather(chunks: readonly Uint8Array[], index: number, offset: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let total = 0;
  for (let i = index; i < chunks.length && total < max; i++) {
    const c = chunks[i] as Uint8Array;
    const start = i === index ? offset : 0;
    const take = Math.min(c.length - start, max - total);
    if (take <= 0) continue;
    out.push(start === 0 && take === c.length ? c : c.subarray(start, start + take));
    total += take;
  }
  return out;
}

/** Advances a write's position by `n` bytes. */
function advance(w: PendingWrite, n: number): void {
  w.accepted += n;
  let left = n;
  while (left > 0 && w.index < w.chunks.length) {
    const c = w.chunks[w.index] as Uint8Array;
    const rest = c.length - w.offset;
    if (rest <= left) {
      left -= rest;
      w.index += 1;
      w.offset = 0;
    } else {
      w.offset += left;
      left = 0;
    }
  }
}
