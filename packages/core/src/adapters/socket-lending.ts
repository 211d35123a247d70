import type { Socket } from 'node:net';
import type { DescriptorLending } from '../driver-flow';
import { SOURCE_ENDED } from '../descriptor-loan';

/** What a net.Socket has inside: libuv's stream handle (TCPWrap or PipeWrap). Not a public API. */
interface StreamHandle {
  /** The descriptor on Unix; -1 on Windows and for a closed handle. */
  readonly fd?: number;
  /** Node's own flag: the handle is reading; Node calls readStart only when it is false. */
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
  /** Bytes Node handed to libuv that the kernel has not taken yet. */
  readonly writeQueueSize?: number;
}

const EMPTY = new Uint8Array(0);

function handleOf(socket: Socket): StreamHandle | null | undefined {
  return (socket as unknown as { _handle?: StreamHandle | null })._handle;
}

/**
 * Lends a connected net.Socket's descriptor, in pure TypeScript. Node exposes the descriptor only
 * as `socket._handle.fd` (no public accessor), and stopping its reads takes the handle's
 * `readStop()`: `pause()` alone stops only the 'data' events, not libuv's reads into Node's
 * buffer. Giving it back calls `readStart()` as Node's own `tryReadStart` does (a plain
 * `resume()` would not: Node's stream still waits for the read it asked for before the loan).
 * Every internal is checked first; where one is missing the socket does not lend.
 *
 * `failed()` says whether the flow's driver saw the socket fail; `watch(true)` keeps asking the
 * socket for a pending reset while it is lent for reading (the engine may be waiting on its
 * destination and not look at this socket for a long time: a peer that resets must still be
 * noticed at once, as when the flow is paused), `watch(false)` stops.
 */
export function socketLending(socket: Socket, failed: () => boolean, watch: (on: boolean) => void): DescriptorLending {
  return {
    descriptor(role) {
      const handle = handleOf(socket);
      if (socket.destroyed || !handle) return 'the socket is closed';
      if (socket.connecting) return 'the socket is still connecting';
      if (typeof handle.fd !== 'number' || handle.fd < 0 || typeof handle.readStop !== 'function' || typeof handle.readStart !== 'function') {
        return `the socket exposes no descriptor on ${process.platform}`;
      }
      if (failed()) return 'the socket failed';
      const state = (socket as unknown as { _readableState?: { ended?: boolean } })._readableState;
      if (role === 'read' && (socket.readableEnded || state?.ended === true)) return SOURCE_ENDED;
      if (role === 'write' && socket.writableEnded) return 'the socket is shut for writing';
      return handle.fd;
    },
    stopReading() {
      const handle = handleOf(socket) as StreamHandle;
      socket.pause();
      // Every chunk Node had read comes out as a 'data' event, which the driver pushes into the flow.
      while (socket.read() !== null) {
        // drained
      }
      // read() may have restarted reading to refill Node's buffer: stop it last.
      handle.readStop?.();
      handle.reading = false;
      watch(true);
    },
    startReading() {
      watch(false);
      const handle = handleOf(socket);
      if (socket.destroyed || !handle || typeof handle.readStart !== 'function') return;
      handle.reading = true;
      handle.readStart();
      socket.resume();
    },
    async flushed(signal) {
      const handle = handleOf(socket);
      const queued = (): boolean => socket.writableLength > 0 || (handle?.writeQueueSize ?? 0) > 0;
      while (!socket.destroyed && !failed() && !signal?.aborted && queued()) {
        // Node runs write callbacks in order: an empty write's callback comes after every byte before it.
        await new Promise<void>((resolve) => {
          const done = (): void => {
            signal?.removeEventListener('abort', done);
            socket.off('close', done);
            resolve();
          };
          signal?.addEventListener('abort', done, { once: true });
          socket.once('close', done);
          socket.write(EMPTY, done);
        });
      }
      return !socket.destroyed && !failed() && !signal?.aborted;
    },
  };
}
