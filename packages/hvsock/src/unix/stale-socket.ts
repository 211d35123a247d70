import { lstat, unlink } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';

/** What sits at a Unix-socket path that could not be bound. */
export type SocketFileState = 'absent' | 'not-a-socket' | 'live' | 'stale';

/**
 * Tells a stale socket file (left by a process that died without unlinking it) from one that a
 * live process listens on, by connecting to it: only ECONNREFUSED proves that nobody listens.
 * A listener too busy to answer within `timeoutMs` counts as live.
 */
export async function probeSocketFile(path: string, timeoutMs = 1000): Promise<SocketFileState> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return 'absent';
  }
  if (!isSocket) return 'not-a-socket';
  return new Promise((resolve) => {
    const probe = netConnect({ path });
    const done = (state: SocketFileState): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done('live'), timeoutMs);
    probe.once('connect', () => done('live'));
    probe.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('stale');
      else if (e.code === 'ENOENT') done('absent');
      // EACCES and the like: someone else's socket; never ours to remove.
      else done('live');
    });
  });
}

/** Removes `path` only if it is a socket file nobody listens on; says whether it did. */
export async function unlinkIfStale(path: string): Promise<boolean> {
  if ((await probeSocketFile(path)) !== 'stale') return false;
  try {
    await unlink(path);
    return true;
  } catch {
    return false;
  }
}
