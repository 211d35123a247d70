import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { formatError } from '@flow/core';
import { connect, type TcpFlow } from '../src';
import { freePort } from './support';

describe('connect errors, on loopback only', () => {
  test.each([
    ['127.0.0.1', (p: number) => `tcp://127.0.0.1:${p}`],
    ['::1', (p: number) => `tcp://[::1]:${p}`],
    ['localhost', (p: number) => `tcp://localhost:${p}`],
  ])('a closed port on %s gives refused with a readable message', async (host, uri) => {
    const port = await freePort(host === 'localhost' ? '127.0.0.1' : host);
    const r = await connect(uri(port));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('refused');
    expect(r.error.code).toBe('ECONNREFUSED');
    expect(formatError(r.error)).toBe(`refused: connection attempt to ${uri(port)} was refused (ECONNREFUSED, syscall connect)`);
  });

  test('our deadline gives timeout when the listener never answers the SYN', async () => {
    // A listener in another process with a backlog of 1 that never accepts: once its accept
    // queue is full the kernel drops further SYNs, so a connection attempt hangs until our
    // deadline (Linux's first SYN retry is only after 1 s).
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('net').createServer();
         s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
           require('fs').writeSync(1, s.address().port + '\\n');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const established: TcpFlow[] = [];
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      let outcome = 'never timed out';
      for (let attempt = 0; attempt < 32; attempt++) {
        const r = await connect({ host: '127.0.0.1', port }, { timeoutMs: 300 });
        if (r.ok) {
          established.push(r.value);
          continue;
        }
        outcome = r.error.kind;
        expect(r.error.message).toBe(`connection attempt to tcp://127.0.0.1:${port} timed out after 300 ms`);
        break;
      }
      expect(outcome).toBe('timeout');
    } finally {
      for (const f of established) f.abort();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
  });

  test('an aborted signal gives aborted, before and during the attempt', async () => {
    const early = await connect('tcp://127.0.0.1:9', { signal: AbortSignal.abort() });
    expect(early.ok ? 'connected' : early.error.kind).toBe('aborted');
    const controller = new AbortController();
    const port = await freePort();
    const pending = connect({ host: '127.0.0.1', port }, { signal: controller.signal });
    controller.abort();
    const r = await pending;
    // The refusal may win the race on loopback; either way no flow and no throw.
    expect(r.ok ? 'connected' : ['aborted', 'refused'].includes(r.error.kind)).toBe(true);
  });

  test('a missing unix socket file gives not-found', async () => {
    const r = await connect('unix:///nonexistent-dir-for-flow-tests/x.sock');
    expect(r.ok ? 'connected' : r.error.kind).toBe('not-found');
    if (!r.ok) expect(r.error.code).toBe('ENOENT');
  });

  test('a malformed URI gives invalid, and a bad programmatic port throws RangeError', async () => {
    const r = await connect('tcp://127.0.0.1:http');
    expect(r.ok ? 'connected' : r.error.kind).toBe('invalid');
    const zero = await connect('tcp://127.0.0.1:0');
    expect(zero.ok ? 'connected' : zero.error.kind).toBe('invalid');
    expect(() => connect({ host: '127.0.0.1', port: 70000 })).toThrow(RangeError);
    expect(() => connect({ host: '127.0.0.1', port: 0 })).toThrow(RangeError);
    expect(() => connect({ host: '127.0.0.1', port: 80 }, { timeoutMs: -1 })).toThrow(RangeError);
  });
});
