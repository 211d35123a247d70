import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { abortedError, closedError, FlowError, fromNodeError } from '../errors';
import { createFlow, type FlowDriver, type InboundPort } from '../driver-flow';
import type { Flow, FlowCapabilities, WriteResult } from '../flow';
import { err, OK } from '../result';
import { StatsRecorder } from '../stats';
import { copyBytes } from '../bytes';
import { holdOpenAfterEnd, rereadAfterEnd, watchWhilePaused, type SocketKind } from './socket-liveness';
import { socketLending } from './socket-lending';
import { directReadsOf } from './direct-reads';
import type { DescriptorLending } from '../driver-flow';

/** Options of {@link fromDuplex}. */
export interface FromDuplexOptions {
  /** The flow's `label` for logs. Default: the socket's addresses for a `net.Socket`, else `'duplex'`. */
  readonly label?: string;
  /** Overrides of what this duplex really does; the default assumes a socket-like stream. */
  readonly capabilities?: Partial<FlowCapabilities>;
  /** Bytes buffered for readers before the duplex is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
  /**
   * Copy every chunk the duplex emits. Needed when the writer on the other side may reuse its
   * buffers (a `PassThrough`, an in-process `Duplex`). Default: false for `net.Socket` (whose
   * chunks are fresh), true otherwise.
   */
  readonly copyChunks?: boolean;
  /** Maps a Node error to a flow error; transports use it to refine kinds. */
  readonly mapError?: (error: unknown, during: 'read' | 'write' | 'shutdown') => FlowError;
  /**
   * For a `net.Socket` (TCP or Unix-domain): never take a reset for a clean end. Every end of
   * stream is confirmed by one more read (libuv reports a hang-up after a short read as EOF
   * without reading the pending error), and while the flow is paused a TCP socket is asked for
   * a pending reset once a second, so that a paused flow learns that its peer is gone (a Unix-domain
   * socket only when a `SocketErrorReader` is installed). See `socket-liveness.ts` for what this
   * can and cannot see. Default false.
   */
  readonly detectReset?: boolean;
  /**
   * For a `net.Socket`: lend its descriptor to a copy engine, so that `copy` and `proxy` can run
   * on an installed `CopyAccelerator` (see `installCopyAccelerator`). Default false.
   */
  readonly lendDescriptor?: boolean;
}

const SOCKET_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'rst',
});

const DUPLEX_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'close',
});

type Waiter = () => void;

/** Which of the reset checks of `socket-liveness.ts` a driver runs. */
interface Liveness {
  /** Confirm every end of stream by one more read. */
  readonly confirmEnd: boolean;
  /** Ask the socket for a pending reset while the flow is paused, and how; undefined: never. */
  readonly probeWhilePaused: SocketKind | undefined;
}

/**
 * Wraps any Node `Duplex` (a `net.Socket`, a child process's stdio pair, a TLS socket) as a flow,
 * taking care of Node's traps:
 * - `allowHalfOpen` is forced on, so the peer's FIN does not end our write side;
 * - reads are driven by `'data'` with `pause()`/`resume()` for backpressure, never by
 *   `for await`, which destroys the stream at EOF;
 * - a write resolves when Node's write callback ran (Node no longer holds the buffer, and at
 *   most one write sits in Node's queue, so memory stays bounded); `stats.bytesFlushed` counts
 *   bytes whose write callback ran;
 * - an `'error'` listener is attached at once and errors become values;
 * - graceful release waits for `'finish'` before destroying, so queued writes are not dropped;
 *   `abort` uses `resetAndDestroy()` (TCP RST) where the handle supports it;
 * - zero-length chunks are skipped, strings are encoded.
 *
 * A write whose signal aborts while Node is still flushing it resolves `aborted` with every byte
 * counted as accepted (they are in Node's queue and will still go out); Node keeps those buffers
 * until they are flushed, so do not mutate them until a later write or `shutdownWrite` settles.
 */
export function fromDuplex(duplex: Duplex, options: FromDuplexOptions = {}): Flow {
  if (duplex.readableObjectMode || duplex.writableObjectMode) {
    throw new TypeError('fromDuplex needs a byte stream, not an object-mode stream');
  }
  const isSocket = duplex instanceof Socket;
  const tcp = isSocket && isTcpSocket(duplex as Socket);
  const copyChunks = options.copyChunks ?? !isSocket;
  const mapError = options.mapError ?? ((e: unknown) => fromNodeError(e));
  const recorder = new StatsRecorder();
  const capabilities: FlowCapabilities = {
    // Only a TCP handle can send a reset: a Unix-domain socket or a pipe ends with a plain EOF.
    ...(tcp ? SOCKET_CAPABILITIES : DUPLEX_CAPABILITIES),
    ...options.capabilities,
  };
  const liveness: Liveness = {
    confirmEnd: isSocket && options.detectReset === true,
    probeWhilePaused: isSocket && options.detectReset === true ? (tcp ? 'tcp' : 'unix') : undefined,
  };
  const lend = isSocket && options.lendDescriptor === true;
  return createFlow((port) => new DuplexDriver(duplex, port, copyChunks, mapError, recorder, liveness, lend), {
    capabilities,
    label: options.label ?? (isSocket ? socketLabel(duplex as Socket) : 'duplex'),
    highWaterMark: options.highWaterMark,
    stats: recorder,
  });
}

/**
 * Whether the socket runs over TCP (and so can send an RST), as opposed to a Unix-domain socket
 * or a pipe. The handle's class tells even before the socket connected; the address family is
 * the documented fallback once it did.
 */
function isTcpSocket(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: { constructor?: { name?: string } } })._handle;
  const kind = handle?.constructor?.name;
  if (kind === 'TCP') return true;
  if (kind === 'Pipe' || kind === 'TTY') return false;
  return socket.remoteFamily === 'IPv4' || socket.remoteFamily === 'IPv6';
}

/**
 * Whether Node has asked libuv to shut the write side down and that request may not have run
 * yet: the stream ended, nothing is left in Node's queue, and 'finish' has not come.
 */
function shutdownInFlight(d: Duplex): boolean {
  return d.writableEnded && !d.writableFinished && d.writableLength === 0;
}

/** Abort's release: a TCP RST where the handle can send one, a plain destroy otherwise. */
function resetOrDestroy(d: Duplex): void {
  if (d.destroyed) return;
  const socket = d as Socket;
  if (typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (a pipe, a PTY): fall back to a plain destroy.
    }
  }
  d.destroy();
}

function socketLabel(socket: Socket): string {
  const local = socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : 'local';
  const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'remote';
  return `socket ${local} <-> ${remote}`;
}

class DuplexDriver implements FlowDriver {
  private failure: FlowError | undefined;
  private gone = false;
  private waiters = new Set<Waiter>();
  private unwatch: (() => void) | undefined;
  readonly lending: DescriptorLending | undefined;

  constructor(
    private readonly duplex: Duplex,
    private readonly port: InboundPort,
    private readonly copyChunks: boolean,
    private readonly mapError: (error: unknown, during: 'read' | 'write' | 'shutdown') => FlowError,
    private readonly recorder: StatsRecorder,
    private readonly liveness: Liveness,
    lend: boolean,
  ) {
    this.lending = lend
      ? socketLending(duplex as Socket, () => this.failure !== undefined || this.gone, (on) => (on ? this.startWatching() : this.stopWatching()))
      : undefined;
    // Node ends the write side when the read side ends unless this is set (net.Socket's default
    // is false); the flow contract keeps the two halves independent.
    duplex.allowHalfOpen = true;
    duplex.on('error', (e: unknown) => this.onError(e));
    duplex.on('end', () => this.onEnd());
    duplex.on('close', () => this.onClose());
    // A socket in direct mode (see direct-reads.ts) hands its reads over without 'data' events.
    const direct = directReadsOf(duplex);
    if (direct) direct.attach((chunk) => this.port.push(chunk));
    else duplex.on('data', (chunk: Buffer | string) => this.onData(chunk));
    if (duplex.readableEnded) port.end();
    if (duplex.destroyed) this.onClose();
  }

  private onEnd(): void {
    if (!this.liveness.confirmEnd) {
      this.port.end();
      return;
    }
    const socket = this.duplex as Socket;
    const giveBack = holdOpenAfterEnd(socket);
    // Node closes a socket whose write side finished as soon as 'end' returns: nothing to ask.
    if (!giveBack && socket.writableFinished) {
      this.port.end();
      return;
    }
    // A reset found by the extra read fails the port first; the end that follows is then ignored.
    rereadAfterEnd(socket, () => {
      this.port.end();
      giveBack?.();
    });
  }

  private onData(chunk: Buffer | string): void {
    if (typeof chunk === 'string') {
      if (chunk.length > 0) this.port.push(Buffer.from(chunk, 'utf8'));
      return;
    }
    if (chunk.length === 0) return;
    this.port.push(this.copyChunks ? copyBytes(chunk) : chunk);
  }

  private onError(e: unknown): void {
    this.failure ??= this.mapError(e, 'read');
    this.port.fail(this.failure);
    this.wake();
  }

  private onClose(): void {
    this.gone = true;
    this.stopWatching();
    // Destroyed without an end of stream and without an error: whatever was in flight is lost.
    this.port.fail(this.failure ?? new FlowError('reset', 'the stream was destroyed before its end', { code: 'ECONNRESET' }));
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Waits until `ready()` holds (re-checked on every wake), an error, the stream's close or `signal`. */
  private waitFor(ready: () => boolean, signal: AbortSignal | undefined): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (ready() || this.failure || this.gone) done(true);
      };
      const onAbort = (): void => done(false);
      const done = (value: boolean): void => {
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      if (signal?.aborted) return resolve(false);
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private writeFailure(flushed: number): WriteResult {
    return err((this.failure ?? closedError()).withBytesAccepted(flushed));
  }

  /**
   * Resolves once Node ran the write callback of every chunk, not merely when `write()` returned
   * true: until the callback Node (or libuv) still holds a reference to the caller's buffer, and
   * the flow contract lets the caller reuse its buffer as soon as the write settles. Waiting for
   * the callback also bounds what sits in Node's queue to one write, with no copy.
   */
  write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer = false): WriteResult | Promise<WriteResult> {
    const d = this.duplex;
    if (this.failure || this.gone || d.destroyed) return this.writeFailure(0);
    if (d.writableEnded) return err(closedError());
    let flushed = 0;
    let pending = chunks.length;
    let roomLeft = true;
    let callbackError: FlowError | undefined;
    const cork = chunks.length > 1;
    if (cork) d.cork();
    for (const chunk of chunks) {
      const length = chunk.length;
      roomLeft = d.write(chunk, (e?: Error | null) => {
        pending -= 1;
        if (e) {
          callbackError ??= this.mapError(e, 'write');
          this.failure ??= callbackError;
        } else {
          flushed += length;
          this.recorder.recordFlushed(length);
        }
        if (pending === 0 || e) this.wake();
      });
    }
    if (cork) d.uncork();
    // A transferred buffer is never touched again by its caller, so Node may keep it: the write
    // is accepted once Node queued it below its high-water mark (errors surface on the next
    // operation). Otherwise the caller may reuse it, so wait until Node let go of it.
    if (transfer && roomLeft && pending > 0) return OK;
    // Otherwise wait (the slow path, with its closure, only when needed).
    return (async (): Promise<WriteResult> => {
      const woke = await this.waitFor(() => pending === 0, signal);
      if (!woke) {
        // The bytes sit in Node's queue and will still go out: accepted, we only stopped waiting.
        // Node keeps the buffers until they are flushed (see the note on fromDuplex).
        const total = chunks.reduce((n, c) => n + c.length, 0);
        return err(abortedError(signal?.reason).withBytesAccepted(total));
      }
      if (callbackError || (pending > 0 && (this.failure || this.gone))) return this.writeFailure(flushed);
      return OK;
    })();
  }


  async shutdownWrite(): Promise<WriteResult> {
    const d = this.duplex;
    if (d.writableFinished) return OK;
    if (this.failure) return err(this.failure);
    if (this.gone || d.destroyed) return err(closedError());
    let finished = false;
    d.once('finish', () => {
      finished = true;
      this.wake();
    });
    if (!d.writableEnded) d.end();
    await this.waitFor(() => finished, undefined);
    if (finished) return OK;
    return err(this.failure ?? new FlowError('reset', 'the stream closed before its end was flushed'));
  }

  abort(): void {
    this.stopWatching();
    const d = this.duplex;
    if (d.destroyed) return;
    const socket = d as Socket;
    if (typeof socket.resetAndDestroy === 'function' && shutdownInFlight(d)) {
      // libuv refuses to reset a socket while its shutdown request is pending
      // (uv_tcp_close_reset: EINVAL), and Node then drops the handle without closing it: the
      // descriptor leaks and keeps the process alive. The shutdown completes within a turn of
      // the event loop ('finish'); reset then. A shutdown that fails destroys the socket.
      const forget = (): void => {
        d.off('finish', reset);
      };
      const reset = (): void => {
        d.off('close', forget);
        resetOrDestroy(d);
      };
      d.once('finish', reset);
      d.once('close', forget);
      return;
    }
    resetOrDestroy(d);
  }

  release(): void {
    this.stopWatching();
    // The handshake finished: our 'finish' happened and the peer's end arrived.
    this.duplex.destroy();
  }

  pause(): void {
    this.duplex.pause();
    this.startWatching();
  }

  /** Asks a socket that nobody reads for a pending reset, until `stopWatching`. */
  private startWatching(): void {
    const kind = this.liveness.probeWhilePaused;
    if (kind && !this.gone && !this.unwatch) this.unwatch = watchWhilePaused(this.duplex as Socket, kind);
  }

  resume(): void {
    this.stopWatching();
    this.duplex.resume();
  }

  private stopWatching(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
