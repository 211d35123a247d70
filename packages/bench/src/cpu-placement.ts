// Pinning a server and its client to chosen CPUs, to measure a ping-pong protocol apart from the
// scheduler's placement. With one request in flight, every request wakes the server and every
// reply wakes the client; when the two sit on different CPUs, each wakeup crosses CPUs, and on a
// virtual machine whose idle vCPUs halt, that crossing can cost more than the work itself. Where
// the scheduler puts the two then decides the figure as much as the server does.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { childrenOf } from './rss';
import { findTool } from './loopback-peer';

/** Where the client and the server of a measurement run. */
export interface Placement {
  /** How the table names it. */
  readonly name: string;
  /** The CPU list the server's threads (and its worker processes') are pinned to (`taskset -c`). */
  readonly server: string;
  /** The CPU list the client runs on. */
  readonly client: string;
}

/** Client and server on one CPU (every wakeup is a local switch), and on two (every wakeup crosses). */
export const PINNED_PLACEMENTS: readonly Placement[] = [
  { name: 'one CPU', server: '0', client: '0' },
  { name: 'two CPUs', server: '0', client: '1' },
];

/** taskset's path, when util-linux is installed. */
export function findTaskset(): string | undefined {
  return findTool('taskset', ['/usr/bin', '/bin']);
}

/** Why pinned measurements cannot run here, or undefined when they can. */
export function pinningUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `pinning needs Linux, not ${process.platform}`;
  if (cpus().length < 2) return 'pinning apart needs at least 2 CPUs';
  if (!findTaskset()) return 'taskset (util-linux) is not installed';
  return undefined;
}

/** Every CPU of this machine as a `taskset -c` list: where a pinned server goes back to. */
export function allCpus(): string {
  return `0-${cpus().length - 1}`;
}

/**
 * The CPUs process `pid` may run on (its `Cpus_allowed_list`), or every CPU where that cannot be
 * read: what a pinned server goes back to, which is what it was started with (the bench's own
 * affinity, where the bench itself runs under taskset), not necessarily every CPU.
 */
export function cpusOf(pid: number): string {
  try {
    return cpusAllowed(`/proc/${pid}/status`) ?? allCpus();
  } catch {
    return allCpus();
  }
}

/** The `Cpus_allowed_list` of a `/proc/.../status` file (of a process or of one thread); throws when it cannot be read. */
function cpusAllowed(statusFile: string): string | undefined {
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(statusFile, 'utf8'))?.[1];
}

/**
 * Pins every thread of `pid` and of its child processes (a server's worker processes) to `cpuList`.
 * Threads made later inherit the affinity of the thread that makes them. Rejects with taskset's
 * message when it fails.
 */
export async function pinProcessTree(pid: number, cpuList: string): Promise<void> {
  const taskset = findTaskset();
  if (!taskset) throw new Error('taskset (util-linux) is not installed');
  for (const p of [pid, ...childrenOf(pid)]) {
    await new Promise<void>((resolve, reject) => {
      execFile(taskset, ['-a', '-p', '-c', cpuList, String(p)], { timeout: 10_000 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`taskset -a -p -c ${cpuList} ${p}: ${String(stderr).trim() || error.message}`));
        else resolve();
      });
    });
  }
}

/** `command args` run on `cpuList`: the command line for spawn, through taskset. */
export function onCpus(cpuList: string, command: string, args: readonly string[]): { command: string; args: string[] } {
  const taskset = findTaskset();
  if (!taskset) throw new Error('taskset (util-linux) is not installed');
  return { command: taskset, args: ['-c', cpuList, command, ...args] };
}

/** The threads of a process tree and the distinct CPU lists they may run on. */
export interface TreeAffinity {
  readonly threads: number;
  /** Each distinct `Cpus_allowed_list` among them, sorted. */
  readonly cpuLists: readonly string[];
}

/** Where every thread of `pid` and of its child processes may run, from `/proc/PID/task/TID/status`. */
export function treeAffinity(pid: number): TreeAffinity {
  const lists = new Set<string>();
  let threads = 0;
  for (const p of [pid, ...childrenOf(pid)]) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // the process ended while we looked
    }
    for (const tid of tids) {
      try {
        const list = cpusAllowed(`/proc/${p}/task/${tid}/status`);
        if (list === undefined) continue;
        lists.add(list);
        threads += 1;
      } catch {
        // the thread ended while we looked
      }
    }
  }
  return { threads, cpuLists: [...lists].sort() };
}
