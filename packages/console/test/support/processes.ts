import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', 'fixtures');
const REGISTER = join(FIXTURES, 'ts-register.cjs');

/** The argv that runs a TypeScript fixture with node. */
export function fixtureArgs(name: string, args: readonly string[] = []): string[] {
  return ['-r', REGISTER, join(FIXTURES, name), ...args];
}

/** Spawns a fixture (TypeScript, run from source) as a real child process. */
export function spawnFixture(name: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return spawn(process.execPath, fixtureArgs(name, args), options);
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export function exited(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Collects a stream as text. */
export function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve) => {
    if (!stream) return resolve('');
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
    stream.on('end', () => resolve(text));
    stream.on('error', () => resolve(text));
  });
}

/**
 * True while a process with this pid runs. A zombie (exited, not yet reaped, e.g. where no init
 * reaps orphans) counts as gone: it holds no resources but its exit status.
 */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Format: "pid (comm) state ...": comm may contain spaces and parentheses, so split at the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** The number of open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The number of descriptors of this process open on a pseudo-terminal (either side). */
export function terminalFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/^\/dev\/(ptmx|pts\/)/.test(readlinkSync(`/proc/self/fd/${fd}`))) n++;
    } catch {
      // Closed meanwhile (the directory's own descriptor, for one).
    }
  }
  return n;
}

/** The process's active handles other than timers and one-shot requests, by kind. */
export function activeHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((name) => !/^(Timeout|Immediate|FSReq|FileHandle|WriteWrap|ShutdownWrap)/.test(name))
    .sort();
}

/** Waits until no more handles are active than in `baseline` (close callbacks run a turn later). */
export async function handlesBackTo(baseline: readonly string[], attempts = 100): Promise<string[]> {
  for (let i = 0; i < attempts && activeHandles().length > baseline.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return activeHandles();
}
