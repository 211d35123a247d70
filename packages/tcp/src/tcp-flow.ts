import type { Socket } from 'node:net';
import {
  abortedError,
  err,
  FlowError,
  FlowWrapper,
  fromDuplex,
  OK,
  type Flow,
  type FlowCapabilities,
  type WriteOptions,
  type WriteResult,
} from '@flow/core';
import { formatEndpoint, type Endpoint } from './endpoint';
import { KEEPALIVE_NOTE, type KeepaliveApplied } from './keepalive';
import { socketErrorMapper } from './socket-errors';

/** A TCP or Unix-domain stream connection as a flow (mirage-tcpip's `TCP.flow`). */
export interface TcpFlow extends Flow {
  /** The remote end (`dst` in mirage). IPv4-mapped IPv6 addresses are given as IPv4. */
  readonly dst: Endpoint;
  /** The local end (`src` in mirage). */
  readonly src: Endpoint;
  /** The keepalive settings in force, or undefined when keepalive is off. */
  readonly keepalive: KeepaliveApplied | undefined;
  /** Whether Nagle's algorithm is off for every write (the `noDelay` option). */
  readonly noDelay: boolean;
  /**
   * Writes `buffer` with Nagle's algorithm off and resolves only once every byte of it has been
   * handed to the kernel (not merely queued in Node), so that it goes out without delay.
   */
  writeNodelay(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult>;
  /** `writeNodelay` for several buffers, in order. */
  writevNodelay(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult>;
}

export interface WrapSocketOptions {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly keepalive: KeepaliveApplied | undefined;
  readonly noDelay: boolean;
  readonly highWaterMark: number | undefined;
}

const EMPTY = new Uint8Array(0);

/** The capabilities of a socket flow: what TCP and Unix-domain sockets really do. */
export function socketCapabilities(unix: boolean, keepalive: KeepaliveApplied | undefined): FlowCapabilities {
  const notes = [
    'shutdownRead is emulated: libuv has no SHUT_RD, so bytes still arrive and are dropped',
  ];
  if (unix) notes.push('abort closes the socket: Unix-domain sockets have no RST (the peer may see EOF or ECONNRESET)');
  if (keepalive && !keepalive.exact) notes.push(KEEPALIVE_NOTE);
  return Object.freeze({
    halfCloseWrite: 'native',
    halfCloseRead: 'emulated',
    abort: unix ? 'close' : 'rst',
    lendsDescriptor: true,
    notes: Object.freeze(notes),
  });
}

/** Turns a connected socket into a TcpFlow. The socket must have `allowHalfOpen` set. */
export function wrapSocket(socket: Socket, options: WrapSocketOptions): TcpFlow {
  return new SocketFlow(socket, options);
}

class SocketFlow extends FlowWrapper implements TcpFlow {
  readonly dst: Endpoint;
  readonly src: Endpoint;
  readonly keepalive: KeepaliveApplied | undefined;
  readonly noDelay: boolean;
  private nodelayWriters = 0;
  private readonly socket: Socket;
  private readonly mapError: (error: unknown, during: 'read' | 'write' | 'shutdown') => FlowError;

  constructor(socket: Socket, options: WrapSocketOptions) {
    const unix = options.dst.family === 'unix';
    const mapError = socketErrorMapper(socket);
    super(
      fromDuplex(socket, {
        // The endpoints' URIs already name the scheme.
        label: `${formatEndpoint(options.src)} -> ${formatEndpoint(options.dst)}`,
        capabilities: socketCapabilities(unix, options.keepalive),
        highWaterMark: options.highWaterMark,
        mapError,
        // A reset must never read as a clean end, nor go unseen while the flow is paused.
        detectReset: true,
        // copy/proxy may run on an installed copy accelerator (@flow/fast-copy's).
        lendDescriptor: true,
      }),
    );
    this.socket = socket;
    this.mapError = mapError;
    this.dst = options.dst;
    this.src = options.src;
    this.keepalive = options.keepalive;
    this.noDelay = options.noDelay;
  }

  writeNodelay(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError('writeNodelay needs a Uint8Array');
    return this.withoutNagle(() => this.inner.write(buffer, options));
  }

  writevNodelay(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult> {
    if (!Array.isArray(buffers)) throw new TypeError('writevNodelay needs an array of Uint8Array');
    return this.withoutNagle(() => this.inner.writev(buffers, options));
  }

  private async withoutNagle(write: () => Promise<WriteResult>): Promise<WriteResult> {
    // Nagle stays off while any nodelay write is in flight; ordinary writes queued meanwhile
    // simply go out early too, which is harmless.
    this.nodelayWriters += 1;
    if (this.nodelayWriters === 1 && !this.noDelay) this.socket.setNoDelay(true);
    try {
      const r = await write();
      if (!r.ok) return r;
      return await this.handedToKernel();
    } finally {
      this.nodelayWriters -= 1;
      if (this.nodelayWriters === 0 && !this.noDelay && !this.socket.destroyed) this.socket.setNoDelay(false);
    }
  }

  /**
   * Resolves once Node's write queue is empty. The flow's write resolves when Node *accepted*
   * the bytes; Node's `writableLength` counts the bytes the kernel has not taken yet. Node runs
   * write callbacks in order, so the callback of an empty write is a barrier behind our bytes.
   */
  private handedToKernel(): Promise<WriteResult> {
    const s = this.socket;
    if (s.destroyed) return Promise.resolve(s.writableLength === 0 ? OK : err(this.lost()));
    if (s.writableEnded) {
      if (s.writableFinished) return Promise.resolve(OK);
      // A shutdown was queued behind us: 'finish' means everything before it was flushed.
      return new Promise((resolve) => {
        const done = (): void => {
          s.off('finish', done);
          s.off('close', done);
          resolve(s.writableFinished ? OK : err(this.lost()));
        };
        s.on('finish', done);
        s.on('close', done);
      });
    }
    // Even when writableLength is already 0, the callbacks of our bytes may still be pending;
    // waiting for the barrier's callback keeps stats.bytesFlushed exact when we resolve.
    return new Promise((resolve) => {
      s.write(EMPTY, (e?: Error | null) => resolve(e ? err(this.lost(e)) : OK));
    });
  }

  private lost(cause?: Error | null): FlowError {
    if (cause) return this.mapError(cause, 'write');
    if (this.inner.state === 'aborted') return abortedError();
    return new FlowError('reset', 'the socket was destroyed before the bytes reached the kernel', { code: 'ECONNRESET' });
  }
}
