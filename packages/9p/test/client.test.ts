import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { fromDuplex, pair } from '@flow/core';
import { connect9p, type Dialect, exportDirectory, memoryDir, Published, serve9p, staticDir, streamFile, Vfs, zeroFile } from '../src';
import { dial, startOurServer } from './support/diod';
import { memorySession } from './support/session';
import { tempDir } from './support/tmp';

describe.each<Dialect>(['9P2000', '9P2000.u', '9P2000.L'])('our client and our server over TCP loopback in %s', (version) => {
  test('a large file round-trips byte-exact at msize 8192 with pipelining', async () => {
    const tmp = tempDir();
    const server = await startOurServer(exportDirectory(tmp.dir));
    const c = await connect9p(await dial(server.port), { version, msize: 8192, window: 16 });
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const data = crypto.randomBytes(2 * 1024 * 1024 + 5);
    expect((await c.value.writeFile('x.bin', data)).ok).toBe(true);
    expect(fs.readFileSync(path.join(tmp.dir, 'x.bin')).equals(data)).toBe(true);
    const back = await c.value.readFile('x.bin');
    expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
    expect((await c.value.close()).ok).toBe(true);
    const [summary] = await server.stop();
    expect(summary!.outcome).toBe('eof');
    expect(summary!.msize).toBe(8192);
    tmp.cleanup();
  });
});

test('100 concurrent clients are all served, and a failing one does not disturb the others', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'shared.txt'), 'shared');
  const server = await startOurServer(exportDirectory(tmp.dir));
  const bad = await dial(server.port);
  await bad.write(Buffer.from([1, 0, 0, 0])); // size 1: broken framing
  const results = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const c = await connect9p(await dial(server.port), { version: i % 3 === 0 ? '9P2000.u' : '9P2000.L' });
      if (!c.ok) return `connect ${c.error.message}`;
      const name = `c${i}.txt`;
      const w = await c.value.writeFile(name, Buffer.from(`client ${i}`));
      const r = await c.value.readFile(name);
      const s = await c.value.readFile('shared.txt');
      await c.value.close();
      if (!w.ok || !r.ok || !s.ok) return 'failed';
      return `${Buffer.from(r.value).toString()}|${Buffer.from(s.value).toString()}`;
    }),
  );
  results.forEach((r, i) => expect(r).toBe(`client ${i}|shared`));
  bad.abort();
  const summaries = await server.stop();
  expect(summaries).toHaveLength(101);
  expect(summaries.filter((s) => s.outcome === 'eof')).toHaveLength(100);
  expect(fs.readdirSync(tmp.dir)).toHaveLength(101);
  tmp.cleanup();
});

test('an AbortSignal sends Tflush and the connection stays usable', async () => {
  const events = new Published(1);
  const s = await memorySession(new Vfs(staticDir({ events: streamFile(events), other: memoryDir() })));
  const ac = new AbortController();
  const reading = s.client.readFile('events', { signal: ac.signal });
  // The first line arrives at once; the next read blocks on the stream until flushed.
  await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  const r = await reading;
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error.kind).toBe('aborted');
  expect((await s.client.stat('events')).ok).toBe(true);
  const summary = await s.close();
  expect(summary.flushes).toBeGreaterThan(0);
});

test('readFile stops at maxBytes with a limit error', async () => {
  const s = await memorySession(new Vfs(staticDir({ zero: zeroFile() })), { msize: 8192 });
  const r = await s.client.readFile('zero', { maxBytes: 100_000 });
  expect(!r.ok && r.error.kind).toBe('limit');
  await s.close();
});

test('walks deeper than 16 names are split', async () => {
  const tmp = tempDir();
  const names = Array.from({ length: 40 }, (_, i) => `n${i}`);
  fs.mkdirSync(path.join(tmp.dir, ...names), { recursive: true });
  fs.writeFileSync(path.join(tmp.dir, ...names, 'leaf'), 'deep');
  const s = await memorySession(exportDirectory(tmp.dir));
  const r = await s.client.readFile([...names, 'leaf'].join('/'));
  expect(r.ok && Buffer.from(r.value).toString()).toBe('deep');
  const missing = await s.client.stat([...names.slice(0, 20), 'nope', 'x'].join('/'));
  expect(!missing.ok && missing.error.kind).toBe('not-found');
  await s.close();
  tmp.cleanup();
});

test('a server msize below 4096 is refused by the client with a protocol error', async () => {
  const [a, b] = pair();
  const served = serve9p(b, new Vfs(memoryDir()), { msize: 1024 });
  const c = await connect9p(a, { version: '9P2000.L' });
  expect(c.ok).toBe(false);
  expect(!c.ok && c.error.kind).toBe('protocol');
  await served;
});

test('a server that speaks no dialect gives an unsupported error', async () => {
  const [a, b] = pair();
  const served = serve9p(b, new Vfs(memoryDir()), { dialects: [] });
  const c = await connect9p(a);
  expect(!c.ok && c.error.kind).toBe('unsupported');
  await served;
});

test('fids are released: many operations with maxFids 4 never exhaust them', async () => {
  const tmp = tempDir();
  const s = await memorySession(exportDirectory(tmp.dir), { maxFids: 4 });
  for (let i = 0; i < 50; i++) {
    expect((await s.client.writeFile(`f${i}`, Buffer.from('x'))).ok).toBe(true);
    expect((await s.client.stat(`f${i}`)).ok).toBe(true);
    expect((await s.client.readFile(`missing${i}`)).ok).toBe(false);
    expect((await s.client.remove(`f${i}`)).ok).toBe(true);
  }
  await s.close();
  tmp.cleanup();
});

test('client and server over a Unix-domain socket, with a trace of every message', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'f'), 'over unix');
  const sock = path.join(tmp.dir, 's.sock');
  const seen: string[] = [];
  let served: Promise<unknown> = Promise.resolve();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    served = serve9p(fromDuplex(s), exportDirectory(tmp.dir), { trace: (dir, m) => seen.push(`${dir} ${m.type}`) });
  });
  await new Promise<void>((r) => server.listen(sock, () => r()));
  const socket = net.connect(sock);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const c = await connect9p(fromDuplex(socket));
  expect(c.ok).toBe(true);
  if (c.ok) {
    expect(await c.value.readFile('f')).toEqual({ ok: true, value: Buffer.from('over unix') });
    await c.value.close();
  }
  await served;
  await new Promise<void>((r) => server.close(() => r()));
  expect(seen.slice(0, 4)).toEqual(['in Tversion', 'out Rversion', 'in Tattach', 'out Rattach']);
  expect(seen).toContain('out Rread');
  tmp.cleanup();
});

describe('host export read paths', () => {
  test.each<[string, number | undefined]>([
    ['thread-pool reads (syncReadMax 0)', 0],
    ['synchronous positional reads (the default, 64 KiB)', undefined],
  ])('%s return the file byte-exact at every msize, and see writes made after open', async (_name, syncReadMax) => {
    const tmp = tempDir();
    const data = crypto.randomBytes(300 * 1024 + 3);
    fs.writeFileSync(path.join(tmp.dir, 'f.bin'), data);
    const server = await startOurServer(exportDirectory(tmp.dir, syncReadMax === undefined ? {} : { syncReadMax }));
    for (const msize of [8192, 65536]) {
      const c = await connect9p(await dial(server.port), { version: '9P2000.L', msize });
      expect(c.ok).toBe(true);
      if (!c.ok) continue;
      const back = await c.value.readFile('f.bin');
      expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
      // No read-ahead or caching: a change on disk shows on the next read.
      fs.writeFileSync(path.join(tmp.dir, 'f.bin'), Buffer.from('changed'));
      const changed = await c.value.readFile('f.bin');
      expect(changed.ok && Buffer.from(changed.value).toString()).toBe('changed');
      fs.writeFileSync(path.join(tmp.dir, 'f.bin'), data);
      expect((await c.value.close()).ok).toBe(true);
    }
    await server.stop();
    tmp.cleanup();
  });

  test('syncReadMax must be a non-negative number of bytes', () => {
    expect(() => exportDirectory('/', { syncReadMax: -1 })).toThrow(RangeError);
  });
});

describe('a peer that does not speak 9P', () => {
  async function withPeer(greeting: Buffer, run: (port: number) => Promise<void>): Promise<void> {
    // It answers once and then keeps the connection open: a client that waited for the rest of
    // the "frame" (or for the close) would hang here.
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      s.once('data', () => s.write(greeting));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await run((server.address() as net.AddressInfo).port);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }

  const dialTcp = async (port: number) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    return fromDuplex(socket);
  };

  test('an HTTP answer is a protocol error at once, saying what was sent', async () => {
    await withPeer(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'), async (port) => {
      const r = await connect9p(await dialTcp(port));
      expect(r.ok ? 'connected' : r.error.kind).toBe('protocol');
      expect(r.ok ? '' : r.error.message).toMatch(/more than msize .* allows: not a 9P server\? it sent text: "HTTP\/1.1 400 Bad"/);
    });
  });

  test('binary garbage is a protocol error at once, with its first bytes in hex', async () => {
    await withPeer(Buffer.from('ffffff7f0102030405060708', 'hex'), async (port) => {
      const r = await connect9p(await dialTcp(port));
      expect(r.ok ? 'connected' : r.error.message).toMatch(/reply of 2147483647 bytes, .*it began with ffffff7f01020304/);
    });
  });
});
