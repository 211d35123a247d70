import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** `name` on PATH (or in `extraDirs`, e.g. /usr/sbin for diod), or undefined. */
export function findTool(name: string, extraDirs: readonly string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
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

/** A loopback port that was free a moment ago (the peers below need a number up front). */
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

function canConnect(to: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = typeof to === 'number' ? connect({ host: '127.0.0.1', port: to }) : connect({ path: to });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface PeerProcess {
  readonly process: ChildProcess;
  /** The loopback port it listens on; 0 for a peer listening on a Unix-domain socket (`path`). */
  readonly port: number;
  /** The Unix-domain socket it listens on, for such a peer. */
  readonly path?: string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process exited. */
  stop(): Promise<void>;
}

export interface PeerOptions {
  /** For messages, e.g. `socat`. */
  readonly name: string;
  /** Keep the tail of the peer's stderr for the failure message. Default false (stderr ignored). */
  readonly captureStderr?: boolean;
  /** Added to the failure message, e.g. where the peer's log is. */
  readonly hint?: string;
}

/**
 * Starts `binary args(port)` on a free loopback port and resolves once it accepts connections.
 * Such peers have no IPC channel to notice that we are gone, so they are killed with us.
 */
export async function startLoopbackPeer(
  binary: string,
  args: (port: number) => readonly string[],
  options: PeerOptions,
): Promise<PeerProcess> {
  const port = await freePort();
  return startPeer(binary, args(port), port, options);
}

/**
 * Starts `binary args` that listens on the Unix-domain socket `path` (e.g. socat's
 * `UNIX-LISTEN:`) and resolves once it accepts connections there.
 */
export function startUnixPeer(binary: string, args: readonly string[], path: string, options: PeerOptions): Promise<PeerProcess> {
  return startPeer(binary, args, path, options);
}

/** Spawns the peer and waits (bounded) until `listensOn` (a port on 127.0.0.1 or a socket path) accepts. */
async function startPeer(binary: string, args: readonly string[], listensOn: number | string, options: PeerOptions): Promise<PeerProcess> {
  const port = typeof listensOn === 'number' ? listensOn : 0;
  const cp = spawn(binary, [...args], {
    stdio: ['ignore', 'ignore', options.captureStderr ? 'pipe' : 'ignore'],
  });
  let stderr = '';
  cp.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  let exited = false;
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
    if (await canConnect(listensOn)) {
      return {
        process: cp,
        port,
        ...(typeof listensOn === 'string' ? { path: listensOn } : {}),
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
  const detail = [stderr.trim(), options.hint].filter((s) => s).join('; ');
  const where = typeof listensOn === 'number' ? `127.0.0.1:${listensOn}` : listensOn;
  throw new Error(`${options.name} did not listen on ${where}${detail ? `: ${detail}` : ''}`);
}
