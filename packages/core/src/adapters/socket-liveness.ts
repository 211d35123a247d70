import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { installedSocketErrorReader } from '../socket-error-reader';

/**
 * How a socket flow tells a reset from a clean end, with what Node exposes (no native code).
 *
 * Two blind spots of libuv make a reset look like a FIN or go unseen:
 * - A hang-up that follows a short read is reported as EOF without reading again (the POLLHUP
 *   shortcut in libuv's stream code), so the error the kernel holds for the socket (SO_ERROR:
 *   ECONNRESET after a TCP RST, or after a Unix-domain peer closed with our bytes unread) is
 *   never read.
 * - A paused socket (reading stopped under backpressure) is not polled at all, so nothing is
 *   told when its peer resets.
 *
 * What a paused flow can learn, by kind of socket:
 * - TCP: a reset, within `PAUSED_PROBE_INTERVAL_MS`, by a zero-length write (below).
 * - Unix-domain, with a `SocketErrorReader` installed (`@flow/fast-copy` offers one): a reset
 *   (the peer closed with our bytes unread: Linux sets ECONNRESET on our socket), within
 *   `PAUSED_PROBE_INTERVAL_MS`, by reading SO_ERROR, which leaves the queued bytes in place. A
 *   clean close is not an error: its bytes and then EOF are delivered when the flow reads again.
 * - Unix-domain without a reader: nothing until the flow reads again; then the bytes the peer
 *   sent come first and the reset after them. (The zero-length write cannot serve: after a
 *   clean close it fails with EPIPE too, and Node would destroy the socket, dropping the bytes
 *   the peer sent before it closed.)
 */

/** How often a paused socket is asked for a pending error. */
export const PAUSED_PROBE_INTERVAL_MS = 1000;

const EMPTY = new Uint8Array(0);

/** The part of Node's libuv stream handle used here; absent or different in other runtimes. */
interface StreamHandle {
  readStart?: () => number;
}

/**
 * Makes libuv read once more after the socket reported its end, then calls `settled`. After a
 * real FIN that read returns 0 (nothing happens); with an error pending it returns the error,
 * and Node destroys the socket with it (an `'error'` event, before `settled` runs). `settled`
 * runs after a full poll phase of the event loop has passed since the read was started (two
 * check phases from now), which is when libuv has reported the read.
 *
 * This uses `socket._handle.readStart()`, an undocumented internal of `net.Socket`: it is
 * guarded, and where it is missing the end is taken as reported.
 */
export function rereadAfterEnd(socket: Socket, settled: () => void): void {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (!socket.destroyed && handle && typeof handle.readStart === 'function') {
    try {
      handle.readStart();
    } catch {
      // An internal that changed shape: the end stands as reported.
    }
  }
  setImmediate(() => setImmediate(settled));
}

/**
 * Keeps Node from destroying the socket right after its `'end'` event when our write side is
 * already finished (net.Socket always auto-destroys then), so that `rereadAfterEnd` has a
 * socket left to read from. Call it from inside the `'end'` listener. Returns the function that
 * gives the socket back to Node's rule (destroying it now if that moment has passed), or
 * undefined when the stream's internal state is not there to change (the socket then goes as
 * Node decides). `_readableState` is an internal of Node streams, hence the guard.
 */
export function holdOpenAfterEnd(socket: Socket): (() => void) | undefined {
  const state = (socket as unknown as { _readableState?: { autoDestroy?: unknown } })._readableState;
  if (!state || state.autoDestroy !== true) return undefined;
  state.autoDestroy = false;
  return () => {
    state.autoDestroy = true;
    // What Node would have done at 'end' had the write side already finished; if it finishes
    // later, Node's own rule destroys the socket then.
    if (socket.writableFinished && !socket.destroyed) socket.destroy();
  };
}

/** Which question a watched socket is asked (see the notes at the top of this file). */
export type SocketKind = 'tcp' | 'unix';

const watched = new Map<Socket, SocketKind>();
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
let timer: NodeJS.Timeout | undefined;

/**
 * Asks a paused socket every `PAUSED_PROBE_INTERVAL_MS` whether its peer reset it, until
 * the returned function is called. For TCP: The question is a zero-length write: Linux answers it with
 * the socket's pending error (tcp_sendmsg checks it before anything else) and sends nothing
 * otherwise, so a FIN, or a peer that is merely slow, goes unnoticed as it should. On a reset
 * Node destroys the socket with ECONNRESET (an `'error'` event). One timer serves every
 * watched socket, and it does not keep the process alive.
 *
 * A Unix-domain socket whose peer closed answers that write with EPIPE even after a clean close
 * (and Node would destroy it, dropping bytes the peer sent before), so it is asked through the
 * installed `SocketErrorReader` instead, and not at all without one.
 */
export function watchWhilePaused(socket: Socket, kind: SocketKind): () => void {
  watched.set(socket, kind);
  if (!timer) {
    timer = setInterval(probeAll, PAUSED_PROBE_INTERVAL_MS);
    timer.unref();
  }
  return () => {
    watched.delete(socket);
    if (watched.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

function probeAll(): void {
  for (const [socket, kind] of [...watched]) {
    if (kind === 'tcp') probe(socket);
    else probeUnix(socket);
  }
}

/**
 * Reads a paused Unix-domain socket's pending error through the installed reader. Linux sets one
 * (ECONNRESET) only when the peer closed with our bytes unread; reading it clears it, so the
 * socket is destroyed with it here, as Node would have after a read: the flow fails as `reset`.
 */
function probeUnix(socket: Socket): void {
  const reader = installedSocketErrorReader();
  if (!reader || socket.destroyed || socket.connecting) return;
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return;
  const errno = reader.socketError(fd);
  if (errno === undefined || errno <= 0) return;
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  const error = Object.assign(new Error(`read ${code} (the peer closed with bytes unread; seen while paused)`), { code, errno: -errno, syscall: 'read' });
  socket.destroy(error);
}

/**
 * One zero-length write. Skipped while Node still queues bytes for the socket (libuv then polls
 * it for writability and sees the error itself) and after our own FIN (Node refuses writes
 * after `end()`).
 */
function probe(socket: Socket): void {
  if (socket.destroyed || socket.connecting || socket.writableEnded || socket.writableLength > 0) return;
  socket.write(EMPTY);
}
