import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Flow, isEOF, pair, readAll } from '@flow/core';
import {
  type Client9p,
  connect9p,
  decode,
  type Dialect,
  encode,
  exportDirectory,
  flowFile,
  FrameReader,
  IOHDRSZ,
  type Message,
  readOnlyFile,
  staticDir,
  Vfs,
} from '../src';
import { dial, type DiodServer, startDiod, startOurServer, type OurServer } from './support/diod';
import { tempDir } from './support/tmp';

const servers: OurServer[] = [];
const clients: Client9p[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function client(port: number, options: { version?: Dialect; msize?: number } = {}): Promise<Client9p> {
  const c = await connect9p(await dial(port), options);
  if (!c.ok) throw c.error;
  clients.push(c.value);
  return c.value;
}

async function serve(fsys: Parameters<typeof startOurServer>[0], trace?: (dir: 'in' | 'out', m: Message) => void): Promise<OurServer> {
  const s = await startOurServer(fsys, { trace });
  servers.push(s);
  return s;
}

async function open(c: Client9p, p: string, options?: Parameters<Client9p['openFlow']>[1]): Promise<Flow> {
  const r = await c.openFlow(p, options);
  if (!r.ok) throw r.error;
  return r.value;
}

function expectOk(r: { ok: boolean; error?: unknown }, what: string): void {
  if (!r.ok) throw new Error(`${what}: ${String(r.error)}`);
}

describe.each(['9P2000.L', '9P2000.u', '9P2000'] as const)('regular files as flows, %s', (version) => {
  test('reading a file larger than msize gives every byte then EOF, in Treads no larger than msize allows', async () => {
    const tmp = tempDir();
    const content = crypto.randomBytes(300 * 1024 + 17);
    fs.writeFileSync(path.join(tmp.dir, 'big.bin'), content);
    const counts: number[] = [];
    const s = await serve(exportDirectory(tmp.dir), (dir, m) => {
      if (dir === 'in' && m.type === 'Tread') counts.push(m.count);
    });
    const c = await client(s.port, { version, msize: 8192 });
    const f = await open(c, 'big.bin');
    expect(f.capabilities.abort).toBe('close');
    const got = await readAll(f);
    expectOk(got, 'readAll');
    expect(got.ok && crypto.createHash('sha256').update(got.value).digest('hex')).toBe(crypto.createHash('sha256').update(content).digest('hex'));
    expect(Math.max(...counts)).toBeLessThanOrEqual(8192 - IOHDRSZ);
    expectOk(await f.close(), 'close');
    tmp.cleanup();
  });

  test('writing splits by msize - IOHDRSZ, keeps at most `window` Twrites outstanding and lands every byte in place', async () => {
    const tmp = tempDir();
    fs.writeFileSync(path.join(tmp.dir, 'out.bin'), 'old content that is truncated away');
    let outstanding = 0;
    let most = 0;
    const sizes: number[] = [];
    const s = await serve(exportDirectory(tmp.dir), (dir, m) => {
      if (dir === 'in' && m.type === 'Twrite') {
        sizes.push(m.data.length);
        outstanding += 1;
        most = Math.max(most, outstanding);
      }
      if (dir === 'out' && m.type === 'Rwrite') outstanding -= 1;
    });
    const c = await client(s.port, { version, msize: 8192 });
    const f = await open(c, 'out.bin', { mode: 'write', truncate: true, window: 3 });
    // Opened for writing only: nothing to read.
    const first = await f.read();
    expect(first.ok && isEOF(first.value)).toBe(true);
    const data = crypto.randomBytes(200 * 1024 + 3);
    for (let at = 0; at < data.length; at += 50001) expectOk(await f.write(data.subarray(at, at + 50001)), `write at ${at}`);
    expectOk(await f.close(), 'close');
    expect(Buffer.compare(fs.readFileSync(path.join(tmp.dir, 'out.bin')), data)).toBe(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8192 - IOHDRSZ);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
    tmp.cleanup();
  });
});

test('a write-only flow reads EOF at once; a read-only file opens for reading only, with its write side shut', async () => {
  const s = await serve(new Vfs(staticDir({ ro: readOnlyFile('fixed\n') })));
  const c = await client(s.port);
  const f = await open(c, '/ro');
  expect(f.writeState).toBe('shut');
  const w = await f.write(Buffer.from('x'));
  expect(!w.ok && w.error.kind).toBe('closed');
  const got = await readAll(f);
  expect(got.ok && got.value.toString()).toBe('fixed\n');
  expectOk(await f.close(), 'close');
  const refused = await c.openFlow('/ro', { mode: 'write' });
  expect(!refused.ok && refused.error.kind).toBe('permission');
  const missing = await c.openFlow('/nope');
  expect(!missing.ok && missing.error.kind).toBe('not-found');
});

test('close() of a regular file opened read-write flushes the writes and clunks without reading on to the end', async () => {
  const tmp = tempDir();
  const content = crypto.randomBytes(2 * 1024 * 1024);
  fs.writeFileSync(path.join(tmp.dir, 'f'), content);
  const s = await serve(exportDirectory(tmp.dir));
  const c = await client(s.port);
  // Read-ahead stops at 64 KiB, far short of the file's end.
  const f = await open(c, 'f', { highWaterMark: 64 * 1024 });
  expectOk(await f.write(Buffer.from('HEAD')), 'write');
  expectOk(await f.close(), 'close');
  expect(f.state).toBe('closed');
  const now = fs.readFileSync(path.join(tmp.dir, 'f'));
  expect(now.subarray(0, 4).toString()).toBe('HEAD');
  expect(Buffer.compare(now.subarray(4), content.subarray(4))).toBe(0);
  // The fid was clunked: the client can still open as many as it likes.
  const again = await open(c, 'f', { mode: 'read' });
  expect((await readAll(again, { maxBytes: 4 * 1024 * 1024 })).ok).toBe(true);
  tmp.cleanup();
});

test('offset starts reading and writing of a regular file at that position', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'f'), '0123456789');
  const s = await serve(exportDirectory(tmp.dir));
  const c = await client(s.port);
  const r = await open(c, 'f', { mode: 'read', offset: 4 });
  const got = await readAll(r);
  expect(got.ok && got.value.toString()).toBe('456789');
  const w = await open(c, 'f', { mode: 'write', offset: 8 });
  expectOk(await w.write(Buffer.from('AB!')), 'write');
  expectOk(await w.close(), 'close');
  expect(fs.readFileSync(path.join(tmp.dir, 'f'), 'utf8')).toBe('01234567AB!');
  tmp.cleanup();
});

describe('the stream-file pair', () => {
  async function setup(): Promise<{ c: Client9p; stream: ReturnType<typeof flowFile>; s: OurServer }> {
    const stream = flowFile({ highWaterMark: 4096 });
    const s = await serve(new Vfs(staticDir({ stream: stream.file })));
    return { c: await client(s.port), stream, s };
  }

  async function rawOpen(c: Client9p): Promise<number> {
    const fid = await c.walk(['stream']);
    if (!fid.ok) throw fid.error;
    expectOk(await c.call({ type: 'Tlopen', fid: fid.value, flags: 2 }, 'Rlopen'), 'Tlopen');
    return fid.value;
  }

  test('a stream file reports QT.APPEND, so the client opens it as a stream', async () => {
    const { c, stream } = await setup();
    const [a, b] = await Promise.all([open(c, 'stream'), stream.accept()]);
    expect(a.capabilities.abort).toBe('rst');
    expect(b.ok && b.value.capabilities.halfCloseWrite).toBe('emulated');
    const st = await c.stat('stream');
    expect(st.ok && st.value.qid.type & 0x40).toBe(0x40);
  });

  test('Tflush answers a Tread blocked on the stream, and the flushed read took nothing', async () => {
    const { c, stream } = await setup();
    const fid = await rawOpen(c);
    const b = await stream.accept();
    if (!b.ok) throw b.error;
    const controller = new AbortController();
    const blocked = c.call({ type: 'Tread', fid, offset: 0n, count: 100 }, 'Rread', controller.signal);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const r = await blocked;
    expect(!r.ok && r.error.kind).toBe('aborted');
    expectOk(await b.value.write(Buffer.from('after the flush')), 'server write');
    const next = await c.call({ type: 'Tread', fid, offset: 0n, count: 100 }, 'Rread');
    expect(next.ok && Buffer.from(next.value.data).toString()).toBe('after the flush');
  });

  test('a zero-length Twrite is the end of stream: the server flow reads EOF and later writes fail with EPIPE', async () => {
    const { c, stream } = await setup();
    const fid = await rawOpen(c);
    const b = await stream.accept();
    if (!b.ok) throw b.error;
    expectOk(await c.call({ type: 'Twrite', fid, offset: 0n, data: Buffer.from('last words') }, 'Rwrite'), 'Twrite');
    expectOk(await c.call({ type: 'Twrite', fid, offset: 10n, data: new Uint8Array(0) }, 'Rwrite'), 'end mark');
    const got = await readAll(b.value);
    expect(got.ok && got.value.toString()).toBe('last words');
    const late = await c.call({ type: 'Twrite', fid, offset: 10n, data: Buffer.from('more') }, 'Rwrite');
    expect(!late.ok && late.error.code).toBe('EPIPE');
  });

  test('clunking the file without ending it is a reset for the server flow; the server flow aborting is a reset for the client', async () => {
    const { c, stream } = await setup();
    const fid = await rawOpen(c);
    const b = await stream.accept();
    if (!b.ok) throw b.error;
    expectOk(await c.clunk(fid), 'clunk');
    const r = await b.value.read();
    expect(!r.ok && r.error.kind).toBe('reset');
    const [a, b2] = await Promise.all([open(c, 'stream'), stream.accept()]);
    if (!b2.ok) throw b2.error;
    const reading = a.read();
    b2.value.abort();
    const ra = await reading;
    expect(!ra.ok && ra.error.kind).toBe('reset');
    // A write is accepted once its Twrite is sent; the ECONNRESET shows in shutdownWrite, which waits for it.
    await a.write(Buffer.from('x'));
    const shut = await a.shutdownWrite();
    expect(!shut.ok && shut.error.kind).toBe('reset');
  });

  test('the server side is bounded: a client that writes while nobody reads is held back by delayed Rwrites', async () => {
    const stream = flowFile({ highWaterMark: 4096 });
    let twrites = 0;
    let rwrites = 0;
    const s = await serve(new Vfs(staticDir({ stream: stream.file })), (dir, m) => {
      if (dir === 'in' && m.type === 'Twrite') twrites += 1;
      if (dir === 'out' && m.type === 'Rwrite') rwrites += 1;
    });
    const c = await client(s.port);
    const [a, b] = await Promise.all([open(c, 'stream', { window: 2 }), stream.accept()]);
    if (!b.ok) throw b.error;
    const writes = Array.from({ length: 64 }, (_, i) => a.write(Buffer.alloc(4096, i)));
    let settled = 0;
    for (const w of writes) void w.then(() => (settled += 1));
    // Nobody reads b: the client's window fills with Twrites the server does not answer.
    while (twrites - rwrites < 2) await new Promise((r) => setTimeout(r, 5));
    // The server took one piece (its 4096-byte buffer is then full) and holds the rest back,
    // so only a few of the 64 writes could complete.
    expect(rwrites).toBeLessThanOrEqual(1);
    expect(settled).toBeLessThanOrEqual(3);
    const shutting = a.shutdownWrite();
    const got = await readAll(b.value);
    for (const w of writes) expectOk(await w, 'write');
    expectOk(await shutting, 'shutdownWrite');
    expect(got.ok && got.value.length).toBe(64 * 4096);
    expect(got.ok && got.value[63 * 4096]).toBe(63);
  });

  test('abort flushes the blocked Tread and clunks the fid; the server flow reads a reset', async () => {
    const stream = flowFile();
    const seen: string[] = [];
    const s = await serve(new Vfs(staticDir({ stream: stream.file })), (dir, m) => {
      if (dir === 'in' && (m.type === 'Tread' || m.type === 'Tflush' || m.type === 'Tclunk')) seen.push(m.type);
    });
    const c = await client(s.port);
    const [a, b] = await Promise.all([open(c, 'stream'), stream.accept()]);
    if (!b.ok) throw b.error;
    while (!seen.includes('Tread')) await new Promise((r) => setTimeout(r, 5));
    a.abort();
    const r = await b.value.read();
    expect(!r.ok && r.error.kind).toBe('reset');
    expect(seen).toEqual(['Tread', 'Tflush', 'Tclunk']);
  });

  test('closing the stream file refuses later opens with EBUSY', async () => {
    const { c, stream } = await setup();
    stream.close();
    const r = await c.openFlow('stream');
    expect(!r.ok && r.error.code).toBe('EBUSY');
  });
});

describe('diod as the server (a real 9P2000.L peer)', () => {
  let diod: DiodServer | undefined;
  afterEach(async () => {
    await diod?.stop();
    diod = undefined;
  });

  test('a host file of diod’s export read and written as flows', async () => {
    const tmp = tempDir();
    const exportDir = path.join(tmp.dir, 'export');
    fs.mkdirSync(exportDir);
    const content = crypto.randomBytes(1024 * 1024 + 5);
    fs.writeFileSync(path.join(exportDir, 'in.bin'), content);
    fs.writeFileSync(path.join(exportDir, 'out.bin'), '');
    diod = await startDiod(exportDir, path.join(tmp.dir, 'diod.log'));
    const c = await connect9p(await dial(diod.port), { aname: exportDir, msize: 65536 });
    if (!c.ok) throw c.error;
    clients.push(c.value);
    const r = await open(c.value, 'in.bin');
    expect(r.capabilities.abort).toBe('close');
    const got = await readAll(r, { maxBytes: 4 * 1024 * 1024 });
    expect(got.ok && Buffer.compare(got.value, content)).toBe(0);
    expectOk(await r.close(), 'close reader');
    const w = await open(c.value, 'out.bin', { mode: 'write' });
    for (let at = 0; at < content.length; at += 100000) expectOk(await w.write(content.subarray(at, at + 100000)), 'write');
    expectOk(await w.close(), 'close writer');
    expect(Buffer.compare(fs.readFileSync(path.join(exportDir, 'out.bin')), content)).toBe(0);
    tmp.cleanup();
  });
});

describe('a hostile server', () => {
  /** A scripted 9P2000.L server on an in-memory pair that lies in its Rread and Rwrite counts. */
  async function liar(): Promise<Client9p> {
    const [a, b] = pair();
    const reader = new FrameReader(b, 1 << 20);
    const qid = { type: 0, version: 0, path: 1n };
    void (async () => {
      for (;;) {
        const ev = await reader.next();
        if (ev.kind !== 'frame') return;
        const m = decode(ev.frame, '9P2000.L');
        if (!m.ok) return;
        const q = m.value;
        const reply: Message | undefined =
          q.type === 'Tversion' ? { type: 'Rversion', tag: q.tag, msize: q.msize, version: '9P2000.L' }
          : q.type === 'Tattach' ? { type: 'Rattach', tag: q.tag, qid }
          : q.type === 'Twalk' ? { type: 'Rwalk', tag: q.tag, qids: q.wnames.map(() => qid) }
          : q.type === 'Tlopen' ? { type: 'Rlopen', tag: q.tag, qid, iounit: 0 }
          : q.type === 'Tread' ? { type: 'Rread', tag: q.tag, data: new Uint8Array(q.count + 10) }
          : q.type === 'Twrite' ? { type: 'Rwrite', tag: q.tag, count: q.data.length + 1 }
          : q.type === 'Tclunk' ? { type: 'Rclunk', tag: q.tag }
          : q.type === 'Tflush' ? { type: 'Rflush', tag: q.tag }
          : undefined;
        if (reply) await b.write(encode(reply, '9P2000.L'));
      }
    })();
    const c = await connect9p(a, { msize: 8192 });
    if (!c.ok) throw c.error;
    clients.push(c.value);
    return c.value;
  }

  test('an Rread longer than the Tread asked for fails the flow’s reads with a protocol error', async () => {
    const c = await liar();
    const f = await open(c, 'f', { mode: 'read' });
    const r = await f.read();
    expect(!r.ok && r.error.kind).toBe('protocol');
  });

  test('an Rwrite that claims more than the Twrite carried fails the flow’s writing with a protocol error', async () => {
    const c = await liar();
    const f = await open(c, 'f', { mode: 'write' });
    await f.write(Buffer.from('data'));
    const shut = await f.shutdownWrite();
    expect(!shut.ok && shut.error.kind).toBe('protocol');
  });
});
