// Connections that hold a slot and give nothing: the handshake deadline, the idle timeout and
// the pool that lets idle, fid-less connections give way to newcomers.
import * as net from 'node:net';
import { fromDuplex, pair } from '@flow/core';
import { ConnectionPool, encode, exportDirectory, serve9p, type Serve9pOptions, type SessionSummary } from '../src';
import { RawConn } from './support/raw';
import { tempDir } from './support/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const tversion = encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' }, '9P2000');

/** A connection to serve9p over an in-memory pair. */
function connect(options: Serve9pOptions): { conn: RawConn; served: Promise<SessionSummary> } {
  const [a, b] = pair();
  return { conn: new RawConn(a, '9P2000.L'), served: serve9p(b, exportDirectory(tmp.dir), options) };
}

async function handshake(conn: RawConn, attachFid?: number): Promise<void> {
  expect(await conn.rpc({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' })).toMatchObject({ type: 'Rversion' });
  if (attachFid !== undefined) {
    expect(await conn.rpc({ type: 'Tattach', tag: 1, fid: attachFid, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 })).toMatchObject({ type: 'Rattach' });
  }
}

describe('handshake deadline', () => {
  test('a connection that sends nothing is cut with a timeout error', async () => {
    const { served } = connect({ handshakeTimeoutMs: 100 });
    const s = await served;
    expect(s.outcome).toBe('error');
    expect(s.error).toMatchObject({ kind: 'timeout' });
    expect(s.error?.message).toMatch(/no Tversion within 100 ms/);
    expect(s.requests).toBe(0);
  });

  test('a Tversion sent a byte at a time is cut at the deadline, not when it completes', async () => {
    const { conn, served } = connect({ handshakeTimeoutMs: 150 });
    let stop = false;
    const dribble = (async () => {
      for (let i = 0; i < tversion.length - 1 && !stop; i++) {
        const r = await conn.flow.write(tversion.subarray(i, i + 1));
        if (!r.ok) return;
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const s = await served;
    stop = true;
    await dribble;
    expect(s.error).toMatchObject({ kind: 'timeout' });
    expect(s.requests).toBe(0);
  });

  test('a client that completes Tversion in time is served on, past the deadline', async () => {
    const { conn, served } = connect({ handshakeTimeoutMs: 50 });
    await handshake(conn, 0);
    await new Promise((r) => setTimeout(r, 120));
    expect(await conn.rpc({ type: 'Tclunk', tag: 2, fid: 0 })).toEqual({ type: 'Rclunk', tag: 2 });
    await conn.flow.shutdownWrite();
    expect((await served).outcome).toBe('eof');
  });
});

describe('idle timeout', () => {
  test('off by default: an attached connection that sits idle is not cut', async () => {
    const { conn, served } = connect({ handshakeTimeoutMs: 50 });
    await handshake(conn, 0);
    await new Promise((r) => setTimeout(r, 150));
    expect(await conn.rpc({ type: 'Tclunk', tag: 2, fid: 0 })).toEqual({ type: 'Rclunk', tag: 2 });
    await conn.flow.shutdownWrite();
    expect((await served).outcome).toBe('eof');
  });

  test('when set, a connection with no request for that long is cut', async () => {
    const { conn, served } = connect({ idleTimeoutMs: 100 });
    await handshake(conn, 0);
    const s = await served;
    expect(s.error).toMatchObject({ kind: 'timeout' });
    expect(s.error?.message).toMatch(/idle for 100 ms/);
    expect(s.requests).toBe(2);
  });
});

describe('connection pool', () => {
  test('when full, the longest-idle connection holding no fid gives way to a newcomer', async () => {
    const pool = new ConnectionPool({ maxConnections: 3 });
    const options = { pool, handshakeTimeoutMs: 0 };
    const idleOld = connect(options);
    await handshake(idleOld.conn); // versioned, never attached
    const mount = connect(options);
    await handshake(mount.conn, 0); // holds a fid: a mount
    const idleNew = connect(options);
    await handshake(idleNew.conn);
    expect(pool.size).toBe(3);
    const newcomer = connect(options);
    await handshake(newcomer.conn, 0);
    const cut = await idleOld.served;
    expect(cut.outcome).toBe('error');
    expect(cut.error).toMatchObject({ kind: 'limit' });
    expect(pool.evictions).toBe(1);
    // The mount and the younger idle connection are still served.
    expect(await mount.conn.rpc({ type: 'Tgetattr', tag: 3, fid: 0, requestMask: 0x7ffn })).toMatchObject({ type: 'Rgetattr' });
    expect(await idleNew.conn.rpc({ type: 'Tattach', tag: 3, fid: 5, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 })).toMatchObject({ type: 'Rattach' });
    // Now every slot holds a fid: the next newcomer is refused, and nobody is cut for it.
    const refused = connect(options);
    const r = await refused.served;
    expect(r.outcome).toBe('error');
    expect(r.error).toMatchObject({ kind: 'limit', code: 'EMFILE' });
    expect(r.error?.message).toMatch(/server is full/);
    expect(pool.refusals).toBe(1);
    expect(pool.size).toBe(3);
    for (const c of [mount, idleNew, newcomer]) await c.conn.flow.shutdownWrite();
    for (const c of [mount, idleNew, newcomer]) expect((await c.served).outcome).toBe('eof');
    expect(pool.size).toBe(0);
  });
});

describe('slowloris over TCP', () => {
  test('64 silent and dribbling connections do not lock a real client out', async () => {
    const pool = new ConnectionPool({ maxConnections: 64 });
    const sessions: Promise<SessionSummary>[] = [];
    const server = net.createServer((sock) => sessions.push(serve9p(fromDuplex(sock), exportDirectory(tmp.dir), { pool })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const open = (): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    const attackers: net.Socket[] = [];
    for (let i = 0; i < 32; i++) attackers.push(await open()); // send nothing
    const dribblers: net.Socket[] = [];
    for (let i = 0; i < 32; i++) dribblers.push(await open());
    let k = 0;
    const drip = setInterval(() => {
      for (const d of dribblers) if (!d.destroyed) d.write(tversion.subarray(k % (tversion.length - 1), (k % (tversion.length - 1)) + 1));
      k++;
    }, 20);
    for (const s of [...attackers, ...dribblers]) s.on('error', () => undefined);
    while (pool.size < 64) await new Promise((r) => setTimeout(r, 10));
    // A real client: version, attach, walk, all answered.
    const sock = await open();
    const conn = new RawConn(fromDuplex(sock), '9P2000.L');
    await handshake(conn, 0);
    expect(await conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] })).toEqual({ type: 'Rwalk', tag: 2, qids: [] });
    expect(pool.evictions).toBeGreaterThanOrEqual(1);
    expect(pool.size).toBeLessThanOrEqual(64);
    clearInterval(drip);
    sock.destroy();
    for (const s of [...attackers, ...dribblers]) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    const all = await Promise.all(sessions);
    // Each connection ended with a value, the evicted ones with a limit error.
    expect(all.filter((s) => s.error?.kind === 'limit').length).toBe(pool.evictions);
  });
});
