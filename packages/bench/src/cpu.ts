import { readFileSync } from 'node:fs';
import { childrenOf } from './rss';

/** Clock ticks per second of /proc's CPU times: 100 on every Linux this runs on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) spent by `pid`, including the children it has waited for (socat's
 * per-connection forks), from `/proc/PID/stat`; undefined once the process is gone.
 */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime field 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return (utime + stime + cutime + cstime) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** {@link cpuSecondsOf} of `pid` plus that of its running children (a server's worker processes). */
export function treeCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const own = cpuSecondsOf(pid);
  if (own === undefined) return undefined;
  return childrenOf(pid).reduce((sum, c) => sum + (cpuSecondsOf(c) ?? 0), own);
}
