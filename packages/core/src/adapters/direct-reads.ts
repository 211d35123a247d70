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

const BOUND = Symbol('flow.directReads');

/** What {@link DirectReads.socketOptions} gives: spread it into the socket's options. */
export interface DirectReadOptions {
  /** Node's `onread`: the shared buffer and the callback that copies each read out. */
  readonly onread: OnReadOpts;
}

/**
 * Reads of a `net.Socket` without Node's per-read allocation. In its default mode Node allocates
 * a fresh 64 KiB buffer for every read of every socket and then a second, zero-filled one the
 * size of what was read (plus a copy into it); the memory churn costs a busy server a fifth of
 * its CPU (page faults, `memset`, `munmap`). With Node's documented `onread` option it reads
 * into one buffer of ours instead, and this copies each read out once into a buffer of its size
 * (small reads come from Node's pooled slab).
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

  /** The `onread` option for `new net.Socket(...)` or `net.connect(...)`. */
  socketOptions(): DirectReadOptions {
    return {
      onread: {
        buffer: sharedBuffer(),
        callback: (nread: number, buffer: Uint8Array): boolean => {
          if (nread <= 0) return true;
          const chunk = copyBytes(buffer, 0, nread);
          if (this.sink) {
            this.sink(chunk);
            // Backpressure goes through `socket.pause()`, which stops the handle's reads.
            return true;
          }
          // Nobody attached: the socket behaves as in Node's default mode ('data', read()).
          if (this.socket) return this.socket.push(chunk);
          this.early.push(chunk);
          return true;
        },
      },
    };
  }

  /** Marks `socket` (made with {@link socketOptions}) as read through this object. */
  bind(socket: Socket): Socket {
    this.socket = socket;
    (socket as unknown as { [BOUND]?: DirectReads })[BOUND] = this;
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

/** The {@link DirectReads} a socket was bound to, if any. */
export function directReadsOf(socket: Socket): DirectReads | undefined {
  return (socket as unknown as { [BOUND]?: DirectReads })[BOUND];
}

/** The part of a `net.Socket` that {@link withDirectReads} moves: libuv's handle. Not a public API. */
interface SocketInternals {
  _handle?: object | null;
  readonly allowHalfOpen?: boolean;
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
