import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { copyBytes } from '../bytes';

/**
 * Size of the buffer Node reads sockets into in direct mode: libuv's own suggestion for a
 * stream read (64 KiB), so that one read takes as much as it would in Node's default mode.
 */
export const DIRECT_READ_BUFFER_SIZE = 64 * 1024;

/**
 * One buffer serves every socket in direct mode: Node fills it and calls back synchronously,
 * and the callback copies the bytes out before returning, so no two reads ever share it.
 */
let shared: Buffer | undefined;

function sharedBuffer(): Buffer {
  shared ??= Buffer.allocUnsafeSlow(DIRECT_READ_BUFFER_SIZE);
  return shared;
}

/**
 * A read at least this large says the peer is sending in bulk: the socket then reads into a
 * buffer of its own, handed to the flow as it is (no copy) and replaced by a fresh one, which is
 * what Node's default mode costs for a full read, minus its stream machinery.
 */
export const DIRECT_READ_BULK_MIN = 32 * 1024;

/**
 * At most this many sockets hold a buffer of their own at once (4 MiB in all). A socket keeps its
 * buffer until it reads again or closes, so a bound keeps connections that went quiet after a
 * bulk transfer from pinning 64 KiB each; past it, bulk reads are copied out of the shared buffer.
 */
export const DIRECT_READ_MAX_OWN_BUFFERS = 64;
let ownBuffers = 0;

const BOUND = Symbol('flow.directReads');

/** What {@link DirectReads.socketOptions} gives: spread it into the socket's options. */
export interface DirectReadOptions {
  /** Node's `onread`: where each read goes, and the callback that hands it to the flow. */
  readonly onread: OnReadOpts;
}

/**
 * Reads of a `net.Socket` without Node's per-read allocation. In its default mode Node allocates
 * a fresh 64 KiB buffer for every read of every socket and then, for a read that did not fill it,
 * a second, zero-filled one the size of what was read (plus a copy into it); on a busy
 * request/response server that churn was a fifth of its CPU (page faults, `memset`, `munmap`).
 * With Node's documented `onread` option it reads into a buffer of ours instead:
 * - a read smaller than {@link DIRECT_READ_BULK_MIN} lands in one buffer shared by every socket
 *   and is copied out at its size (small copies come from Node's pooled slab);
 * - after a larger one the socket reads into a buffer of its own, given to the flow without a
 *   copy and replaced for the next read, while it keeps reading in bulk (and while fewer than
 *   {@link DIRECT_READ_MAX_OWN_BUFFERS} sockets hold one).
 *
 * A socket made with {@link DirectReads.socketOptions} and then {@link DirectReads.bind}-ed is
 * read this way by `fromDuplex`: the flow's chunks arrive through {@link DirectReads.attach}
 * instead of `'data'` events; `'end'`, `'error'`, `'close'`, `pause()` and `resume()` behave as
 * before (Node's `net.Socket` stops and restarts its handle's reads for `onread` sockets itself).
 * Until a flow attaches, the socket's bytes go to its own readable side, so that it is an
 * ordinary `net.Socket` to any other reader.
 */
export class DirectReads {
  private sink: ((chunk: Uint8Array) => void) | undefined;
  private socket: Socket | undefined;
  /** Reads that came before `bind` (none in practice: reads come from the event loop). */
  private early: Uint8Array[] = [];
  /** The socket's own buffer, when it reads in bulk; undefined: it reads into the shared one. */
  private own: Buffer | undefined;
  /** Whether this socket counts against {@link DIRECT_READ_MAX_OWN_BUFFERS}. */
  private holdsSlot = false;
  /** Whether the last read was a bulk one. */
  private bulk = false;

  /** The `onread` option for `new net.Socket(...)` or `net.connect(...)`. */
  socketOptions(): DirectReadOptions {
    return {
      onread: {
        // Node asks for the buffer of the next read after each callback (and once at the start).
        buffer: () => this.nextBuffer(),
        callback: (nread: number, buffer: Uint8Array): boolean => {
          if (nread <= 0) return true;
          this.bulk = nread >= DIRECT_READ_BULK_MIN;
          let chunk: Uint8Array;
          if (buffer === this.own && this.bulk) {
            // Ours alone: the flow takes it as it is, and the next read gets a fresh one.
            chunk = buffer.subarray(0, nread);
            this.own = undefined;
          } else {
            chunk = copyBytes(buffer, 0, nread);
          }
          return this.deliver(chunk);
        },
      },
    };
  }

  private deliver(chunk: Uint8Array): boolean {
    if (this.sink) {
      this.sink(chunk);
      // Backpressure goes through `socket.pause()`, which stops the handle's reads.
      return true;
    }
    // Nobody attached: the socket behaves as in Node's default mode ('data', read()).
    if (this.socket) return this.socket.push(chunk);
    this.early.push(chunk);
    return true;
  }

  private nextBuffer(): Buffer {
    if (this.bulk && (this.holdsSlot || ownBuffers < DIRECT_READ_MAX_OWN_BUFFERS)) {
      if (!this.holdsSlot) {
        this.holdsSlot = true;
        ownBuffers += 1;
      }
      this.own ??= Buffer.allocUnsafeSlow(DIRECT_READ_BUFFER_SIZE);
      return this.own;
    }
    this.releaseOwn();
    return sharedBuffer();
  }

  private releaseOwn(): void {
    this.own = undefined;
    if (this.holdsSlot) {
      this.holdsSlot = false;
      ownBuffers -= 1;
    }
  }

  /** Marks `socket` (made with {@link socketOptions}) as read through this object. */
  bind(socket: Socket): Socket {
    this.socket = socket;
    (socket as unknown as { [BOUND]?: DirectReads })[BOUND] = this;
    socket.once('close', () => this.releaseOwn());
    const early = this.early;
    this.early = [];
    for (const chunk of early) socket.push(chunk);
    return socket;
  }

  /**
   * Delivers every read from now on to `sink`, in order, after what the socket holds already.
   * Until then the socket's reads are its own, as in Node's default mode.
   */
  attach(sink: (chunk: Uint8Array) => void): void {
    const socket = this.socket;
    if (socket) {
      for (let chunk = socket.read() as Uint8Array | null; chunk !== null; chunk = socket.read() as Uint8Array | null) sink(chunk);
    }
    this.sink = sink;
  }
}

/** How many sockets read into a buffer of their own right now (see {@link DIRECT_READ_MAX_OWN_BUFFERS}). */
export function directReadOwnBuffers(): number {
  return ownBuffers;
}

/** The {@link DirectReads} a socket was bound to, if any (undefined for any other stream). */
export function directReadsOf(stream: object): DirectReads | undefined {
  return (stream as { [BOUND]?: DirectReads })[BOUND];
}

/** The part of a `net.Socket` that {@link withDirectReads} moves: libuv's handle. Not a public API. */
interface SocketInternals {
  _handle?: object | null;
}

/**
 * A connection a `net.Server` accepted with `pauseOnConnect: true`, moved onto a new `net.Socket`
 * that reads in direct mode (see {@link DirectReads}), since Node offers `onread` only to sockets
 * it constructs for us. The handle (the kernel socket) is the same; the old `Socket` object is
 * detached from it and destroyed (the server's connection count goes down at once, as for a
 * socket that closed). Node keeps `_handle`, the socket's libuv handle, private: where it is
 * missing, or the socket is already reading or gone, the socket is returned as it is and is read
 * in Node's default mode.
 */
export function withDirectReads(accepted: Socket): Socket {
  const internals = accepted as unknown as SocketInternals;
  const handle = internals._handle;
  if (!handle || accepted.destroyed || accepted.connecting || !accepted.isPaused() || accepted.readableLength > 0) return accepted;
  const reads = new DirectReads();
  let moved: Socket;
  try {
    moved = new Socket({ handle, allowHalfOpen: true, readable: true, writable: true, ...reads.socketOptions() } as SocketConstructorOpts);
  } catch {
    return accepted;
  }
  internals._handle = null;
  accepted.destroy();
  return reads.bind(moved);
}
