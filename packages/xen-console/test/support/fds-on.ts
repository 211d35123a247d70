import { readdirSync, readlinkSync, realpathSync } from 'node:fs';

/**
 * This process's descriptors open on `path` (a pty or FIFO): exact where a count of all open
 * descriptors is not (the runtime may open others at any moment).
 */
export function fdsOn(path: string): number {
  const target = realpathSync(path);
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) n += 1;
    } catch {
      // closed meanwhile (the descriptor readdir itself used)
    }
  }
  return n;
}
