import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDuplex } from '@flow/core';
import type { FlowPair } from '@flow/conformance';
import { connectStdio } from '../../src';
import { exited } from './processes';

/**
 * A stdio console on a real child process's pipes, whose other end is a flow in this process:
 * the child is `socat STDIO UNIX-CONNECT:<path>`, which relays its stdin/stdout to a Unix socket
 * we accept, and carries each direction's EOF across as a shutdown.
 */
export async function stdioOverChildPipes(): Promise<FlowPair> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-console-'));
  const path = join(dir, 'bridge.sock');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  // -t: after one direction's EOF, keep relaying the other for up to 60 s (half-close);
  // shut-down: pass the socket's EOF on as shutdown(2) of our stdout end, not only at exit.
  const child = spawn('socat', ['-t', '60', 'STDIO,shut-down', `UNIX-CONNECT:${path}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  const socket = await accepted;
  const opened = await connectStdio({ input: child.stdout!, output: child.stdin! });
  if (!opened.ok) throw opened.error;
  const cleanup = async (): Promise<void> => {
    socket.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  // The socket's peer is socat, which relays an abort as an ordinary end of stream.
  return { a: opened.value, b: fromDuplex(socket, { capabilities: { abort: 'close' } }), cleanup };
}
