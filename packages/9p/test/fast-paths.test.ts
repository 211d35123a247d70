// The session's fast paths: requests taken synchronously from what the flow already holds
// (FrameReader.poll), Twrite through a back end's `writeNow`, and the ctl tree's zero and null
// answered without a promise. Each must answer exactly as the general path does.
import { pair } from '@flow/core';
import {
  ctlTree,
  encode,
  ERRNO,
  FrameReader,
  fsError,
  type FsResult,
  LFLAGS,
  type Message,
  staticDir,
  Vfs,
  type VfsFile,
} from '../src';
import { errnoOf, rawSession } from './support/raw';

/** A file whose writes go through `writeNow`, doing what `behave` says for each. */
function nowFile(behave: (data: Uint8Array) => FsResult<number> | Promise<FsResult<number>>): VfsFile {
  return {
    kind: 'file',
    length: () => 0n,
    open: async () => ({
      ok: true,
      value: {
        read: async () => ({ ok: true, value: new Uint8Array(0) }),
        write: async () => ({ ok: false, error: fsError('EIO', 'the general path must not be used') }),
        writeNow: (_offset: number, data: Uint8Array) => behave(data),
        close: async () => undefined,
      },
    }),
  };
}

async function openFid(conn: Awaited<ReturnType<typeof rawSession>>['conn'], name: string, flags: number): Promise<void> {
  expect((await conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [name] })).type).toBe('Rwalk');
  expect((await conn.rpc({ type: 'Tlopen', tag: 3, fid: 1, flags })).type).toBe('Rlopen');
}

describe('Twrite through writeNow', () => {
  test('a synchronous writeNow is answered with its count and gets the bytes at the offset', async () => {
    const seen: { data: string }[] = [];
    const s = await rawSession(new Vfs(staticDir({ f: nowFile((d) => (seen.push({ data: Buffer.from(d).toString() }), { ok: true, value: d.length - 1 })) })), '9P2000.L');
    await openFid(s.conn, 'f', LFLAGS.WRONLY);
    expect(await s.conn.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 7n, data: Buffer.from('hello') })).toEqual({ type: 'Rwrite', tag: 4, count: 4 });
    expect(seen).toEqual([{ data: 'hello' }]);
    await s.end();
  });

  test('its errors are the dialect error replies, a throw is EIO, and the connection goes on', async () => {
    let mode: 'fail' | 'throw' | 'ok' = 'fail';
    const f = nowFile((d) => {
      if (mode === 'throw') throw new Error('back end bug');
      return mode === 'fail' ? { ok: false, error: fsError('ENOSPC') } : { ok: true, value: d.length };
    });
    const s = await rawSession(new Vfs(staticDir({ f })), '9P2000.L');
    await openFid(s.conn, 'f', LFLAGS.WRONLY);
    expect(errnoOf(await s.conn.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('x') }))).toBe(ERRNO.ENOSPC);
    mode = 'throw';
    expect(errnoOf(await s.conn.rpc({ type: 'Twrite', tag: 5, fid: 1, offset: 0n, data: Buffer.from('x') }))).toBe(ERRNO.EIO);
    mode = 'ok';
    expect(await s.conn.rpc({ type: 'Twrite', tag: 6, fid: 1, offset: 0n, data: Buffer.from('xyz') })).toEqual({ type: 'Rwrite', tag: 6, count: 3 });
    const summary = await s.end();
    expect(summary.errors).toBe(2);
  });

  test('a writeNow that returns a promise is in flight: Tflush drops its reply', async () => {
    let finish!: (r: FsResult<number>) => void;
    const f = nowFile(() => new Promise((resolve) => (finish = resolve)));
    const s = await rawSession(new Vfs(staticDir({ f })), '9P2000.L');
    await openFid(s.conn, 'f', LFLAGS.WRONLY);
    await s.conn.send({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('late') });
    // A request with the same tag while it is in flight is refused, as on the general path.
    expect(errnoOf(await s.conn.rpc({ type: 'Tclunk', tag: 4, fid: 9 }))).toBe(ERRNO.EINVAL);
    expect(await s.conn.rpc({ type: 'Tflush', tag: 5, oldtag: 4 })).toEqual({ type: 'Rflush', tag: 5 });
    finish({ ok: true, value: 4 });
    // No Rwrite for tag 4: the next reply is the next request's.
    expect(await s.conn.rpc({ type: 'Tclunk', tag: 6, fid: 1 })).toEqual({ type: 'Rclunk', tag: 6 });
    await s.end();
  });

  test('a Twrite whose count disagrees with its frame is left to the general path, which refuses it', async () => {
    const s = await rawSession(new Vfs(staticDir({ f: nowFile((d) => ({ ok: true, value: d.length })) })), '9P2000.L');
    await openFid(s.conn, 'f', LFLAGS.WRONLY);
    const frame = Buffer.from(encode({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('abcd') }, '9P2000.L'));
    frame.writeUInt32LE(9, 19); // count says 9, the frame holds 4
    await s.conn.sendBytes(frame);
    expect(errnoOf(await s.conn.recv())).toBe(ERRNO.EPROTO);
    await s.end();
  });

  test('a fid not open for writing is refused even when the file has writeNow', async () => {
    const s = await rawSession(new Vfs(staticDir({ f: nowFile((d) => ({ ok: true, value: d.length })) })), '9P2000.L');
    await openFid(s.conn, 'f', LFLAGS.RDONLY);
    expect(errnoOf(await s.conn.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('x') }))).toBe(ERRNO.EBADF);
    await s.end();
  });
});

describe('ctl zero and null', () => {
  test('zero reads the count asked in zeros (within msize); null takes every write and reads at end', async () => {
    const s = await rawSession(ctlTree(), '9P2000.L', { clientMsize: 8192 });
    await openFid(s.conn, 'zero', LFLAGS.RDONLY);
    const r = await s.conn.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 123n, count: 100_000 });
    expect(r.type).toBe('Rread');
    if (r.type !== 'Rread') return;
    expect(r.data.length).toBe(8192 - 11);
    expect(r.data.every((b) => b === 0)).toBe(true);
    expect((await s.conn.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: ['null'] })).type).toBe('Rwalk');
    expect((await s.conn.rpc({ type: 'Tlopen', tag: 3, fid: 2, flags: LFLAGS.RDWR })).type).toBe('Rlopen');
    expect(await s.conn.rpc({ type: 'Twrite', tag: 5, fid: 2, offset: 0n, data: Buffer.alloc(5000, 7) })).toEqual({ type: 'Rwrite', tag: 5, count: 5000 });
    const empty = await s.conn.rpc({ type: 'Tread', tag: 6, fid: 2, offset: 0n, count: 10 });
    expect(empty).toMatchObject({ type: 'Rread', tag: 6 });
    if (empty.type === 'Rread') expect(empty.data.length).toBe(0);
    await s.end();
  });
});

describe('requests taken from what the flow holds', () => {
  test('a burst of requests in one write is answered in order, each once', async () => {
    const s = await rawSession(ctlTree(), '9P2000.L');
    await openFid(s.conn, 'null', LFLAGS.RDWR);
    const burst: Message[] = [];
    for (let i = 0; i < 40; i++) burst.push({ type: 'Twrite', tag: 100 + i, fid: 1, offset: 0n, data: Buffer.alloc(i + 1) });
    burst.push({ type: 'Tgetattr', tag: 200, fid: 1, requestMask: 0x7ffn });
    await s.conn.sendBytes(Buffer.concat(burst.map((m) => encode(m, '9P2000.L'))));
    for (let i = 0; i < 40; i++) expect(await s.conn.recv()).toEqual({ type: 'Rwrite', tag: 100 + i, count: i + 1 });
    expect((await s.conn.recv()).type).toBe('Rgetattr');
    await s.end();
  });

  test('a frame split across writes, byte by byte, is put together', async () => {
    const s = await rawSession(ctlTree(), '9P2000.L');
    await openFid(s.conn, 'null', LFLAGS.RDWR);
    const frame = encode({ type: 'Twrite', tag: 9, fid: 1, offset: 0n, data: Buffer.alloc(300, 1) }, '9P2000.L');
    for (let i = 0; i < frame.length; i++) await s.conn.sendBytes(frame.subarray(i, i + 1));
    expect(await s.conn.recv()).toEqual({ type: 'Rwrite', tag: 9, count: 300 });
    await s.end();
  });

  test('an oversized frame behind a good one in the same write is skipped and answered EMSGSIZE', async () => {
    const s = await rawSession(ctlTree(), '9P2000.L', { clientMsize: 8192 });
    await openFid(s.conn, 'null', LFLAGS.RDWR);
    const good = encode({ type: 'Twrite', tag: 1, fid: 1, offset: 0n, data: Buffer.alloc(10) }, '9P2000.L');
    const big = encode({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data: Buffer.alloc(9000) }, '9P2000.L');
    const after = encode({ type: 'Twrite', tag: 3, fid: 1, offset: 0n, data: Buffer.alloc(20) }, '9P2000.L');
    await s.conn.sendBytes(Buffer.concat([good, big, after]));
    expect(await s.conn.recv()).toEqual({ type: 'Rwrite', tag: 1, count: 10 });
    expect(errnoOf(await s.conn.recv())).toBe(ERRNO.EMSGSIZE);
    expect(await s.conn.recv()).toEqual({ type: 'Rwrite', tag: 3, count: 20 });
    await s.end();
  });
});

describe('FrameReader.poll', () => {
  test('gives buffered frames without waiting, "more" for a partial one, and leaves the end to next()', async () => {
    const [a, b] = pair();
    const reader = new FrameReader(b, 1024);
    expect(reader.poll()).toBe('more');
    const f1 = encode({ type: 'Tclunk', tag: 1, fid: 1 }, '9P2000.L');
    const f2 = encode({ type: 'Tclunk', tag: 2, fid: 2 }, '9P2000.L');
    // (An in-memory pair's write settles once the other side took the bytes: poll, then await it.)
    let w = a.write(Buffer.concat([f1, f2.subarray(0, 5)]));
    await reader.readable();
    expect(reader.poll()).toEqual({ kind: 'frame', frame: Buffer.from(f1) });
    expect(reader.poll()).toBe('more');
    expect((await w).ok).toBe(true);
    w = a.write(f2.subarray(5));
    await reader.readable();
    expect(reader.poll()).toEqual({ kind: 'frame', frame: Buffer.from(f2) });
    expect((await w).ok).toBe(true);
    // A frame over the limit and the end are next()'s to report.
    const big = Buffer.alloc(2000);
    big.writeUInt32LE(2000, 0);
    big[4] = 120;
    w = a.write(big);
    await reader.readable();
    expect(reader.poll()).toBeUndefined();
    expect(await reader.next()).toMatchObject({ kind: 'oversize', size: 2000 });
    expect((await w).ok).toBe(true);
    const shut = a.shutdownWrite();
    await reader.readable();
    expect(reader.poll()).toBeUndefined();
    expect(await reader.next()).toEqual({ kind: 'end' });
    expect((await shut).ok).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });
});
