import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Debian's socat, the independent peer of these tests. */
export const SOCAT = '/usr/bin/socat';

const running = new Set<ChildProcess>();

/** Starts socat (logging with -d -d); `killAllSocat` ends it with everything it forked. */
export function startSocat(args: readonly string[]): ChildProcess {
  const child = spawn(SOCAT, ['-d', '-d', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.stdin?.on('error', () => undefined);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Resolves once socat's log (it runs with -d -d) contains `text`; the log keeps draining. */
export function socatLogged(child: ChildProcess, text: string): Promise<void> {
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += String(chunk);
      if (log.includes(text)) {
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`socat exited before logging "${text}": ${log}`)));
  });
}

/** socat's exit code, once it exited. */
export async function socatExited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** Everything socat writes to its stdout, once it closed it. */
export function socatStdout(child: ChildProcess): Promise<Buffer> {
  const parts: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve) => child.stdout?.once('end', () => resolve(Buffer.concat(parts))));
}

/** The children of `pid`, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces, so parse after its closing paren.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // It exited while we looked.
    }
  }
  return out;
}

/**
 * Kills `pid` and its descendants, deepest first, each while its parent is still alive to reap
 * it: killing a parent first would leave its children to init, as zombies or orphans.
 */
async function killTree(pid: number, isOurChild: boolean): Promise<void> {
  for (const child of childrenOf(pid)) await killTree(child, false);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  if (isOurChild) return;
  // Reaped by its parent (socat or sh) once /proc forgets it; bounded, in case it was not.
  for (let i = 0; i < 400 && existsSync(`/proc/${pid}`); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Kills every socat started here with everything it forked (children for `fork`, the scripts
 * they EXEC), and waits for socat itself to exit.
 */
export async function killAllSocat(): Promise<void> {
  for (const child of [...running]) {
    if (child.pid !== undefined) await killTree(child.pid, true);
    await socatExited(child);
  }
}
