import type { SocketErrorReader } from '@flow/core';
import { loadFastCopyBinding } from './native/load';

/**
 * Reads a socket's pending error (SO_ERROR) with the engine's addon, for `@flow/core`'s
 * `installSocketErrorReader`. With it installed, a paused Unix-domain flow of `@flow/tcp` learns
 * within a second that its peer reset (closed with our bytes unread), without reading the bytes
 * queued before; a clean close still delivers them and then EOF. Without the addon in this
 * process (not Linux, no binary) it answers undefined and such a flow learns of the reset when
 * it reads again.
 *
 * ```ts
 * installSocketErrorReader(fastCopySocketErrorReader);
 * ```
 */
export const fastCopySocketErrorReader: SocketErrorReader = Object.freeze({
  name: 'fast-copy',
  socketError(fd: number): number | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    const loaded = loadFastCopyBinding();
    if (!loaded.ok || typeof loaded.value.socketError !== 'function') return undefined;
    const errno = loaded.value.socketError(fd);
    return errno >= 0 ? errno : undefined;
  },
});
