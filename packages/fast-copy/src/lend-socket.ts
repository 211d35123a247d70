import type { Socket } from 'node:net';
import { err, FlowError, ok, type Result } from '@flow/core';

/** What a net.Socket has inside: libuv's stream handle (TCPWrap or PipeWrap). Not a public API. */
interface StreamHandle {
  /** The descriptor on Unix; -1 on Windows and for a closed handle. */
  readonly fd?: number;
  /** Node's own flag: the handle is reading (readStart called); Node calls readStart only when it is false. */
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
  /** Bytes Node handed to libuv that the kernel has not taken yet. */
  readonly writeQueueSize?: number;
}

/** A socket lent to the engine: its descriptor, and the way back. */
export interface LentSocket {
  /** The socket's own descriptor (non-blocking), for `startCopy`; the engine watches a duplicate of it. */
  readonly fd: number;
  /**
   * Bytes Node had already read from the socket and not delivered yet. They come before
   * anything the engine reads: the borrower must pass them on first.
   */
  readonly buffered: readonly Buffer[];
  /**
   * Gives the descriptor back to Node, once every copy that uses it has ended: Node reads it
   * again (into the socket's buffer, up to its highWaterMark while paused; call `resume()` for
   * 'data' events). Idempotent; nothing happens to a destroyed socket.
   */
  giveBack(): void;
}

/**
 * Lends a connected net.Socket's descriptor. Node exposes the descriptor only as `_handle.fd`
 * (net.Socket has no public accessor); this reads it and makes the socket let go of it:
 *
 * - reading: the socket is paused, whatever Node had read is drained into `buffered`, and the
 *   handle's `readStop()` is called, so that Node's libuv handle no longer reads the descriptor
 *   (pause() alone stops only the 'data' events, not the reads into Node's buffer);
 * - writing: nothing may be queued in Node (`writableLength` and the handle's `writeQueueSize`
 *   both 0), or the engine's bytes would overtake Node's; the socket must not have ended.
 *
 * While lent, the owner must neither read nor write the socket; `giveBack()` returns it.
 * (`resume()` alone would not: Node's stream still waits for the read it asked for before the
 * loan, so it never calls readStart again.) Refused (`in-use`, `closed`,
 * `unsupported`) with the reason when the socket cannot be lent; nothing is changed then.
 */
export function lendSocket(socket: Socket): Result<LentSocket, FlowError> {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (socket.destroyed || handle === null || handle === undefined) {
    return err(new FlowError('closed', 'the socket is closed: it has no descriptor to lend'));
  }
  if (socket.connecting) return err(new FlowError('in-use', 'the socket is still connecting'));
  const fd = handle.fd;
  if (typeof fd !== 'number' || fd < 0 || typeof handle.readStop !== 'function') {
    return err(new FlowError('unsupported', `this socket's handle exposes no descriptor on ${process.platform}`));
  }
  if (socket.writableLength > 0 || (handle.writeQueueSize ?? 0) > 0) {
    return err(new FlowError('in-use', `the socket has ${socket.writableLength} bytes queued for writing: wait for 'drain'`));
  }
  socket.pause();
  const buffered: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
    buffered.push(chunk);
  }
  // read() may have restarted reading to refill Node's buffer: stop it last.
  handle.readStop();
  handle.reading = false;
  let lent = true;
  const giveBack = (): void => {
    if (!lent) return;
    lent = false;
    const current = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (socket.destroyed || current !== handle || typeof handle.readStart !== 'function') return;
    // What Node's own tryReadStart does; the stream's pending _read then gets its data.
    handle.reading = true;
    handle.readStart();
  };
  return ok({ fd, buffered, giveBack });
}
