import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** socat on PATH, or undefined (the socat row is then skipped with a message). */
export function findSocat(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'socat');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A loopback port that was free a moment ago (socat needs a number up front). */
function freePort(): Promise<number> {
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

export interface SocatProxy {
  readonly process: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/** `socat TCP-LISTEN:p,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:upstream`, once it accepts. */
export async function startSocat(binary: string, upstreamPort: number): Promise<SocatProxy> {
  const port = await freePort();
  const cp = spawn(binary, [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${upstreamPort}`], {
    // socat logs every reset the slow-receiver phase provokes; keep only the tail for failures.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  cp.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  let exited = false;
  // socat has no IPC channel to notice that we are gone: take it down with us.
  const killOnExit = (): void => {
    cp.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  cp.once('exit', () => {
    exited = true;
    process.off('exit', killOnExit);
  });
  for (let attempt = 0; attempt < 100 && !exited; attempt += 1) {
    if (await canConnect(port)) {
      return {
        process: cp,
        port,
        stop: async () => {
          if (exited) return;
          const gone = new Promise<void>((done) => cp.once('exit', () => done()));
          cp.kill('SIGTERM');
          await gone;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  cp.kill('SIGKILL');
  throw new Error(`socat did not listen on 127.0.0.1:${port}: ${stderr.trim()}`);
}
