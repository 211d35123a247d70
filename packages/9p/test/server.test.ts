import * as fs from 'node:fs';
import * as path from 'node:path';
import { pair } from '@flow/core';
import {
  decodeDirents,
  ERRNO,
  exportDirectory,
  type Filesystem,
  type FsNode,
  type FsResult,
  LFLAGS,
  memoryDir,
  type Message,
  Published,
  serve9p,
  staticDir,
  streamFile,
  Vfs,
} from '../src';
import { errnoOf, RawConn, rawSession } from './support/raw';
import { tempDir } from './support/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
  fs.mkdirSync(path.join(tmp.dir, 'sub'));
  fs.writeFileSync(path.join(tmp.dir, 'sub', 'f.txt'), 'content');
});
afterEach(() => tmp.cleanup());

describe('Tversion', () => {
  test('an unknown version is answered "unknown", and the connection stays usable', async () => {
    const [a, b] = pair();
    const served = serve9p(b, exportDirectory(tmp.dir));
    const c = new RawConn(a, '9P2000');
    expect(await c.rpc({ type: 'Tversion', tag: 0xffff, msize: 8192, version: 'NotNine' })).toEqual({
      type: 'Rversion', tag: 0xffff, msize: 8192, version: 'unknown',
    });
    // Before a successful Tversion, other requests are errors.
    const early = await c.rpc({ type: 'Tclunk', tag: 3, fid: 0 });
    expect(early.type).toBe('Rerror');
    const v = await c.rpc({ type: 'Tversion', tag: 0xffff, msize: 1 << 20, version: '9P2000.u' });
    // The cap: the server's maximum (65536 by default).
    expect(v).toEqual({ type: 'Rversion', tag: 0xffff, msize: 65536, version: '9P2000.u' });
    await a.shutdownWrite();
    expect((await served).outcome).toBe('eof');
    await a.close();
  });

  test('a 9P2000.x variant is answered with the base 9P2000', async () => {
    const [a, b] = pair();
    const served = serve9p(b, exportDirectory(tmp.dir));
    const c = new RawConn(a, '9P2000');
    const v = await c.rpc({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L.Google.3' });
    expect(v).toMatchObject({ type: 'Rversion', version: '9P2000' });
    await a.shutdownWrite();
    await served;
    await a.close();
  });

  test('an msize below the floor is refused', async () => {
    const [a, b] = pair();
    const served = serve9p(b, exportDirectory(tmp.dir));
    const c = new RawConn(a, '9P2000');
    const v = await c.rpc({ type: 'Tversion', tag: 0xffff, msize: 100, version: '9P2000.L' });
    expect(v.type).toBe('Rerror');
    await a.shutdownWrite();
    await served;
    await a.close();
  });

  test('a new Tversion clunks every fid', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['sub'] })).type).toBe('Rwalk');
    await s.conn.rpc({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' });
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 3, fid: 1 }))).toBe(ERRNO.EBADF);
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 3, fid: 0 }))).toBe(ERRNO.EBADF);
    await s.end();
  });
});

describe('Tauth', () => {
  test('.L answers Rlerror ENOENT (no auth needed)', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', { attach: false });
    expect(await s.conn.rpc({ type: 'Tauth', tag: 1, afid: 5, uname: '', aname: '', nUname: 0 })).toEqual({ type: 'Rlerror', tag: 1, ecode: 2 });
    await s.end();
  });
  test('.u answers Rerror with errno ENOENT', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.u', { attach: false });
    expect(await s.conn.rpc({ type: 'Tauth', tag: 1, afid: 5, uname: '', aname: '', nUname: 0 })).toMatchObject({ type: 'Rerror', errno: 2 });
    await s.end();
  });
  test('an auth hook gates attach', async () => {
    let ok = false;
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', {
      attach: false,
      auth: {
        start: async () => ({
          ok: true,
          value: {
            authenticated: () => ok,
            file: {
              read: async () => ({ ok: true, value: new Uint8Array(0) }),
              write: async (_o, d) => {
                ok = Buffer.from(d).toString() === 'secret';
                return { ok: true, value: d.length };
              },
              close: async () => undefined,
            },
          },
        }),
      },
    });
    const c = s.conn;
    expect((await c.rpc({ type: 'Tauth', tag: 1, afid: 9, uname: 'u', aname: '', nUname: 0 })).type).toBe('Rauth');
    expect(errnoOf(await c.rpc({ type: 'Tattach', tag: 1, fid: 0, afid: 9, uname: 'u', aname: '', nUname: 0 }))).toBe(ERRNO.EACCES);
    expect(await c.rpc({ type: 'Twrite', tag: 1, fid: 9, offset: 0n, data: Buffer.from('secret') })).toEqual({ type: 'Rwrite', tag: 1, count: 6 });
    expect((await c.rpc({ type: 'Tattach', tag: 1, fid: 0, afid: 9, uname: 'u', aname: '', nUname: 0 })).type).toBe('Rattach');
    await s.end();
  });
});

describe('Twalk', () => {
  test('a later name failing gives a short Rwalk and binds no newfid', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    const r = await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['sub', 'missing', 'x'] });
    expect(r.type === 'Rwalk' && r.qids.length).toBe(1);
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 2, fid: 1 }))).toBe(ERRNO.EBADF);
    expect(errnoOf(await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['missing'] }))).toBe(ERRNO.ENOENT);
    await s.end();
  });

  test('nwname 0 clones; newfid equal to fid moves the fid', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    expect(await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] })).toEqual({ type: 'Rwalk', tag: 2, qids: [] });
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 1, newfid: 1, wnames: ['sub', 'f.txt'] })).type).toBe('Rwalk');
    const o = await s.conn.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: LFLAGS.RDONLY });
    expect(o.type).toBe('Rlopen');
    expect(await s.conn.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 0n, count: 100 })).toMatchObject({ type: 'Rread', data: Buffer.from('content') });
    // A walk to a newfid already in use is refused.
    expect(errnoOf(await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] }))).toBe(ERRNO.EBADF);
    await s.end();
  });

  test.each(['9P2000', '9P2000.u', '9P2000.L'] as const)('NOFID is never bound as a fid (%s)', async (dialect) => {
    const s = await rawSession(exportDirectory(tmp.dir), dialect, { attach: false });
    const NOFID = 0xffffffff;
    const refused = async (m: Message): Promise<void> => {
      const r = await s.conn.rpc(m);
      expect([r.type, errnoOf(r) === undefined ? undefined : 'error']).toEqual([dialect === '9P2000.L' ? 'Rlerror' : 'Rerror', 'error']);
      if (dialect !== '9P2000') expect(errnoOf(r)).toBe(ERRNO.EBADF);
    };
    await refused({ type: 'Tattach', tag: 1, fid: NOFID, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    expect((await s.conn.rpc({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type).toBe('Rattach');
    await refused({ type: 'Twalk', tag: 2, fid: 0, newfid: NOFID, wnames: [] });
    await refused({ type: 'Twalk', tag: 2, fid: 0, newfid: NOFID, wnames: ['sub'] });
    // Nothing was bound under NOFID.
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 3, fid: NOFID }))).toBeDefined();
    if (dialect === '9P2000.L') await refused({ type: 'Txattrwalk', tag: 2, fid: 0, newfid: NOFID, name: '' });
    await s.end();
  });

  test('".." of the root is the root; "." stays in .L and is refused in 9P2000', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    const root = await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] });
    expect(root.type).toBe('Rwalk');
    const up = await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: ['..', '..', 'sub', '..', '.'] });
    expect(up.type).toBe('Rwalk');
    if (up.type !== 'Rwalk') return;
    const rootQid = (await s.conn.rpc({ type: 'Tgetattr', tag: 2, fid: 0, requestMask: 0x7ffn })) as { qid: unknown };
    expect(up.qids[0]).toEqual(rootQid.qid);
    expect(up.qids[4]).toEqual(rootQid.qid);
    await s.end();
    const p = await rawSession(exportDirectory(tmp.dir), '9P2000');
    expect(errnoOf(await p.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['.'] }))).toBe(-1);
    await p.end();
  });
});

describe('I/O limits', () => {
  test('Tread count is clamped to msize - 11', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'big'), Buffer.alloc(100_000, 1));
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', { clientMsize: 8192 });
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['big'] });
    const o = await s.conn.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: 0 });
    expect(o).toMatchObject({ type: 'Rlopen', iounit: 8192 - 24 });
    const r = await s.conn.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 0n, count: 65536 });
    expect(r.type === 'Rread' && r.data.length).toBe(8192 - 11);
    await s.end();
  });

  test('an oversized frame gets an error for its tag and the connection goes on', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', { clientMsize: 8192 });
    const big = await s.conn.rpc({ type: 'Twrite', tag: 7, fid: 0, offset: 0n, data: Buffer.alloc(10000) });
    expect(big).toEqual({ type: 'Rlerror', tag: 7, ecode: ERRNO.EMSGSIZE });
    expect((await s.conn.rpc({ type: 'Tgetattr', tag: 8, fid: 0, requestMask: 0x7ffn })).type).toBe('Rgetattr');
    await s.end();
  });

  test('fids per connection are bounded', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', { maxFids: 3 });
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] })).type).toBe('Rwalk');
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: [] })).type).toBe('Rwalk');
    expect(errnoOf(await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 3, wnames: [] }))).toBe(ERRNO.EMFILE);
    expect((await s.conn.rpc({ type: 'Tclunk', tag: 2, fid: 2 })).type).toBe('Rclunk');
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 3, wnames: [] })).type).toBe('Rwalk');
    await s.end();
  });

  test('many outstanding tags are answered, each exactly once', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L', { maxInFlight: 16 });
    for (let t = 10; t < 210; t++) await s.conn.send({ type: 'Tgetattr', tag: t, fid: 0, requestMask: 0x7ffn });
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const r = await s.conn.recv();
      expect(r.type).toBe('Rgetattr');
      expect(seen.has(r.tag)).toBe(false);
      seen.add(r.tag);
    }
    expect(seen.size).toBe(200);
    await s.end();
  });
});

describe('remove, readdir', () => {
  test('Tremove clunks the fid even when it fails', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['sub'] });
    expect(errnoOf(await s.conn.rpc({ type: 'Tremove', tag: 2, fid: 1 }))).toBe(ERRNO.ENOTEMPTY);
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 2, fid: 1 }))).toBe(ERRNO.EBADF);
    await s.end();
  });

  test('Treaddir returns whole entries and resumes from an entry offset', async () => {
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(tmp.dir, `file-${String(i).padStart(3, '0')}`), '');
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] });
    await s.conn.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: 0 });
    const names: string[] = [];
    let offset = 0n;
    for (;;) {
      const r = await s.conn.rpc({ type: 'Treaddir', tag: 2, fid: 1, offset, count: 500 });
      if (r.type !== 'Rreaddir') throw new Error(r.type);
      expect(r.data.length).toBeLessThanOrEqual(500);
      if (r.data.length === 0) break;
      const d = decodeDirents(r.data);
      expect(d.ok).toBe(true);
      if (!d.ok) break;
      for (const e of d.value) names.push(e.name);
      offset = d.value[d.value.length - 1]!.offset;
    }
    expect(names.slice(0, 2)).toEqual(['.', '..']);
    expect(names.filter((n) => n.startsWith('file-'))).toHaveLength(300);
    await s.end();
  });

  test('a 9P2000 directory read at a non-sequential offset is an error', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000');
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] });
    await s.conn.rpc({ type: 'Topen', tag: 2, fid: 1, mode: 0 });
    const first = await s.conn.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 0n, count: 4096 });
    expect(first.type === 'Rread' && first.data.length).toBeGreaterThan(0);
    expect((await s.conn.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 3n, count: 4096 })).type).toBe('Rerror');
    await s.end();
  });

  test('OCEXEC (0x20) is accepted in Topen', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.u');
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['sub', 'f.txt'] });
    expect((await s.conn.rpc({ type: 'Topen', tag: 2, fid: 1, mode: 0x20 })).type).toBe('Ropen');
    await s.end();
  });
});

/** A filesystem whose walk of "slow" waits until released, to flush a request in flight. */
function gatedFs(): { fs: Filesystem; release: () => void; entered: Promise<void> } {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const enteredP = new Promise<void>((r) => (entered = r));
  const inner = new Vfs(staticDir({ slow: memoryDir() }));
  const wrap = (n: FsNode): FsNode => ({
    ...n,
    qid: n.qid,
    getattr: () => n.getattr(),
    open: (i) => n.open(i),
    readdir: () => n.readdir(),
    walk: async (name): Promise<FsResult<FsNode>> => {
      if (name === 'slow') {
        entered();
        await gate;
      }
      return n.walk(name);
    },
  });
  return {
    fs: { attach: async (info) => {
      const r = await inner.attach();
      void info;
      return r.ok ? { ok: true, value: wrap(r.value) } : r;
    } },
    release: () => release(),
    entered: enteredP,
  };
}

describe('Tflush', () => {
  test('a flushed walk gets no reply and leaves no fid', async () => {
    const g = gatedFs();
    const s = await rawSession(g.fs, '9P2000.L');
    await s.conn.send({ type: 'Twalk', tag: 5, fid: 0, newfid: 1, wnames: ['slow'] });
    await g.entered;
    expect(await s.conn.rpc({ type: 'Tflush', tag: 6, oldtag: 5 })).toEqual({ type: 'Rflush', tag: 6 });
    g.release();
    // The walk finished after the flush: its reply is suppressed and newfid 1 was never bound.
    const next = await s.conn.rpc({ type: 'Tclunk', tag: 7, fid: 1 });
    expect(next).toEqual({ type: 'Rlerror', tag: 7, ecode: ERRNO.EBADF });
    await s.end();
  });

  test('flushing an unknown tag is answered Rflush, never an error; several flushes answer in order', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    await s.conn.send({ type: 'Tflush', tag: 1, oldtag: 99 });
    await s.conn.send({ type: 'Tflush', tag: 2, oldtag: 99 });
    expect(await s.conn.recv()).toEqual({ type: 'Rflush', tag: 1 });
    expect(await s.conn.recv()).toEqual({ type: 'Rflush', tag: 2 });
    await s.end();
  });

  test('a blocked stream read is ended by Tflush', async () => {
    const events = new Published('first');
    const s = await rawSession(new Vfs(staticDir({ events: streamFile(events) })), '9P2000.L');
    await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['events'] });
    await s.conn.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: 0 });
    expect(await s.conn.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 0n, count: 100 })).toMatchObject({ data: Buffer.from('first\n') });
    await s.conn.send({ type: 'Tread', tag: 3, fid: 1, offset: 6n, count: 100 });
    expect(await s.conn.rpc({ type: 'Tflush', tag: 4, oldtag: 3 })).toEqual({ type: 'Rflush', tag: 4 });
    events.publish('second');
    expect(await s.conn.rpc({ type: 'Tread', tag: 3, fid: 1, offset: 6n, count: 100 })).toMatchObject({ tag: 3, data: Buffer.from('second\n') });
    await s.end();
  });
});

describe('teardown', () => {
  test('a client that disconnects mid-request ends the session without a crash', async () => {
    const g = gatedFs();
    const s = await rawSession(g.fs, '9P2000.L');
    await s.conn.send({ type: 'Twalk', tag: 5, fid: 0, newfid: 1, wnames: ['slow'] });
    await g.entered;
    s.conn.flow.abort();
    const summary = await s.served;
    expect(['error', 'aborted']).toContain(summary.outcome);
    g.release();
  });

  test('garbage framing (size < 7) ends the session with a protocol error', async () => {
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    await s.conn.sendBytes(Buffer.from([3, 0, 0, 0]));
    const summary = await s.served;
    expect(summary.outcome).toBe('error');
    expect(summary.error?.kind).toBe('protocol');
    s.conn.flow.abort();
  });
});
