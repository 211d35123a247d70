import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of one process in bytes (Linux `/proc`), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+([0-9]+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of `pid`, found by scanning `/proc/<n>/stat` (works without CONFIG_PROC_CHILDREN). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces; the parent pid follows the state.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** RSS of `pid` plus, if asked, its children (socat forks one child per connection). */
export function treeRss(pid: number, withChildren: boolean): number | undefined {
  const own = rssOf(pid);
  if (own === undefined || !withChildren) return own;
  return childrenOf(pid).reduce((sum, c) => sum + (rssOf(c) ?? 0), own);
}

/** Samples `measure` every `intervalMs` until stopped, keeping the peak. */
export class PeakSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly measure: () => number | undefined,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const v = this.measure();
    if (v !== undefined && v > this.peak) this.peak = v;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
