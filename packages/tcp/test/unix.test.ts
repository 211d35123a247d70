import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, probeSocketFile } from '../src';
import { expectOk, readAll } from './support';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flow-unix-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Leaves a socket file behind the way a crashed server does: bound, then killed. */
function makeStaleSocket(path: string): void {
  const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  expect(r.signal).toBe('SIGKILL');
  expect(existsSync(path)).toBe(true);
}

test('a unix listener and client exchange data with half-close, and close removes the file', async () => {
  const path = join(dir, 'a.sock');
  const listener = expectOk(await listen(`unix://${path}`));
  expect(listener.address).toEqual({ family: 'unix', path });
  const [c, s] = await Promise.all([connect({ path }, { keepalive: { after: 1000, interval: 1000, probes: 10 } }), listener.accept()]);
  const client = expectOk(c);
  const server = expectOk(s);
  // Unix-domain sockets have no keepalive: none is claimed.
  expect(client.keepalive).toBeUndefined();
  expect(client.dst).toEqual({ family: 'unix', path });
  expect(server.src).toEqual({ family: 'unix', path });
  expect(client.capabilities.abort).toBe('close');
  expectOk(await client.write(Buffer.from('over unix')));
  expectOk(await client.shutdownWrite());
  expect((await readAll(server)).toString()).toBe('over unix');
  expectOk(await server.write(Buffer.from('reply')));
  await Promise.all([server.close(), (async () => expect((await readAll(client)).toString()).toBe('reply'))()]);
  expectOk(await client.close());
  await listener.close();
  expect(existsSync(path)).toBe(false);
});

test('a stale socket file gives a clear in-use error and is left alone by default', async () => {
  const path = join(dir, 'stale.sock');
  makeStaleSocket(path);
  expect(await probeSocketFile(path)).toBe('stale');
  const r = await listen({ path });
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.kind).toBe('in-use');
    expect(r.error.message).toContain('stale socket file');
    expect(r.error.message).toContain('unlinkStale');
  }
  expect(existsSync(path)).toBe(true);
  const c = await connect({ path });
  expect(c.ok ? 'connected' : c.error.kind).toBe('refused');
});

test('unlinkStale removes a stale socket file and listens', async () => {
  const path = join(dir, 'stale.sock');
  makeStaleSocket(path);
  const listener = expectOk(await listen({ path }, { unlinkStale: true }));
  const client = expectOk(await connect({ path }));
  expectOk(await listener.accept());
  client.abort();
  await listener.closeAll();
});

test('unlinkStale never removes a socket someone listens on, nor a file that is not a socket', async () => {
  const path = join(dir, 'live.sock');
  const live = expectOk(await listen({ path }));
  const r = await listen({ path }, { unlinkStale: true });
  expect(r.ok ? 'listening' : r.error.message).toContain('another process is listening');
  // The live listener still works.
  const client = expectOk(await connect({ path }));
  expectOk(await live.accept());
  client.abort();
  await live.closeAll();

  const plain = join(dir, 'not-a-socket');
  writeFileSync(plain, 'keep me');
  const p = await listen({ path: plain }, { unlinkStale: true });
  expect(p.ok ? 'listening' : p.error.message).toContain('is not a socket');
  expect(existsSync(plain)).toBe(true);
});
