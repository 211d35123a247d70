import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as net from 'node:net';
import { fromDuplex, type Flow } from '@flow/core';
import { type Filesystem, serve9p, type Serve9pOptions, type SessionSummary } from '../../src';

/** A free TCP port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Connects to 127.0.0.1:port as a flow; retries until `deadlineMs` so a starting server can come up. */
export async function dial(port: number, deadlineMs = 10000): Promise<Flow> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await new Promise<{ sock: net.Socket } | { error: Error }>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve({ sock: s }));
      s.once('error', (error) => {
        s.destroy();
        resolve({ error });
      });
    });
    if ('sock' in r) return fromDuplex(r.sock);
    if (Date.now() > until) throw r.error;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DiodServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a private diod exporting `exportDir` and diod's `ctl` tree, and waits until it listens. */
export async function startDiod(exportDir: string, logFile: string): Promise<DiodServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'diod',
    ['-f', '-n', '-N', '-c', '/dev/null', '-l', `127.0.0.1:${port}`, '-e', exportDir, '-e', 'ctl', '-L', logFile],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const probe = await dial(port);
    probe.abort();
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs one of diod's clients and collects its output (asynchronously: our server shares this process). */
export function runTool(cmd: string, args: readonly string[], timeoutMs = 60000): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

export interface OurServer {
  readonly port: number;
  readonly sessions: Promise<SessionSummary>[];
  stop(): Promise<SessionSummary[]>;
}

/** Our server on 127.0.0.1, one serve9p per accepted socket. */
export async function startOurServer(fs: Filesystem | ((aname: string) => Filesystem), options: Serve9pOptions = {}): Promise<OurServer> {
  const sessions: Promise<SessionSummary>[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sessions.push(serve9p(fromDuplex(sock), typeof fs === 'function' ? fs('') : fs, options));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sessions,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      return Promise.all(sessions);
    },
  };
}
