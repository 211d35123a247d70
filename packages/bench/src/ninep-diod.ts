import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** `name` on PATH (diod installs into /usr/sbin, which is on root's PATH), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A loopback port that was free a moment ago (diod needs a number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface DiodProcess {
  readonly process: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A private diod in the foreground on 127.0.0.1, exporting `exportDir` and its synthetic
 * `ctl` tree: no MUNGE authentication (`-n`), no user database (`-N`), no config file, logging
 * to `logFile`. Resolves once it accepts connections; it dies with this process.
 */
export async function startDiod(binary: string, exportDir: string, logFile: string): Promise<DiodProcess> {
  const port = await freePort();
  const cp = spawn(binary, ['-f', '-n', '-N', '-c', '/dev/null', '-l', `127.0.0.1:${port}`, '-e', exportDir, '-e', 'ctl', '-L', logFile], {
    stdio: 'ignore',
  });
  let exited = false;
  // diod has no IPC channel to notice that we are gone: take it down with us.
  const killOnExit = (): void => {
    cp.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const gone = new Promise<void>((done) =>
    cp.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      done();
    }),
  );
  cp.once('error', () => undefined);
  for (let attempt = 0; attempt < 100 && !exited; attempt += 1) {
    if (await canConnect(port)) {
      return {
        process: cp,
        port,
        stop: async () => {
          if (exited) return;
          cp.kill('SIGTERM');
          const timer = setTimeout(() => cp.kill('SIGKILL'), 3000);
          await gone;
          clearTimeout(timer);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  cp.kill('SIGKILL');
  await gone;
  throw new Error(`diod did not listen on 127.0.0.1:${port} (see ${logFile})`);
}

/** User plus system CPU seconds a process has used so far (Linux `/proc`, all threads), or undefined. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

export interface ToolRun {
  readonly code: number;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs one of diod's clients with a time limit and collects its stderr (where they report). */
export function runTool(binary: string, args: readonly string[], timeoutMs: number): Promise<ToolRun> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(binary, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr: String(stderr), seconds });
    });
  });
}
