import { pair } from '@flow/core';
import { commandFile, connect9p, type Dialect, memoryDir, memoryFile, Published, readOnlyFile, serve9p, staticDir, statusFile, streamFile, Vfs } from '../src';
import { memorySession } from './support/session';
import { rawSession } from './support/raw';

describe.each<Dialect>(['9P2000', '9P2000.u', '9P2000.L'])('the VFS served in %s', (version) => {
  test('files as values: read-only, read-write, status, and an in-memory directory', async () => {
    let renders = 0;
    const rw = memoryFile('initial');
    const vfs = new Vfs(
      staticDir({
        ro: readOnlyFile('fixed\n'),
        rw: rw.file,
        status: statusFile(() => `render ${++renders}\n`),
        scratch: memoryDir(),
      }),
    );
    const s = await memorySession(vfs, { version });
    const c = s.client;
    expect(await c.readFile('ro')).toEqual({ ok: true, value: Buffer.from('fixed\n') });
    expect((await c.writeFile('ro', Buffer.from('x'))).ok).toBe(false);
    expect((await c.writeFile('rw', Buffer.from('changed'))).ok).toBe(true);
    expect(Buffer.from(rw.get()).toString()).toBe('changed');
    const a = await c.readFile('status');
    const b = await c.readFile('status');
    expect(a.ok && Buffer.from(a.value).toString()).toBe('render 1\n');
    expect(b.ok && Buffer.from(b.value).toString()).toBe('render 2\n');
    expect((await c.mkdir('scratch/d')).ok).toBe(true);
    expect((await c.writeFile('scratch/d/f', Buffer.from('in memory'))).ok).toBe(true);
    expect((await c.rename('scratch/d/f', 'scratch/d/g')).ok).toBe(true);
    const ls = await c.readdir('scratch/d');
    expect(ls.ok && ls.value.map((e) => e.name)).toEqual(['g']);
    expect(await c.readFile('scratch/d/g')).toEqual({ ok: true, value: Buffer.from('in memory') });
    expect((await c.remove('scratch/d')).ok).toBe(false); // not empty
    expect((await c.remove('scratch/d/g')).ok).toBe(true);
    expect((await c.remove('scratch/d')).ok).toBe(true);
    const root = await c.readdir('');
    expect(root.ok && root.value.map((e) => `${e.name}:${e.type}`).sort()).toEqual(['ro:file', 'rw:file', 'scratch:directory', 'status:file']);
    await s.close();
  });

  test('qids are stable per file and distinct between files', async () => {
    const file = readOnlyFile('x');
    const s = await memorySession(new Vfs(staticDir({ a: file, b: readOnlyFile('y') })), { version });
    const a1 = await s.client.stat('a');
    const a2 = await s.client.stat('a');
    const b = await s.client.stat('b');
    expect(a1.ok && a2.ok && a1.value.qid.path === a2.value.qid.path).toBe(true);
    expect(a1.ok && b.ok && a1.value.qid.path !== b.value.qid.path).toBe(true);
    await s.close();
  });
});

test('a command file keeps its result per open fid, not per file', async () => {
  const vfs = new Vfs(staticDir({ ctl: commandFile((cmd) => ({ ok: true, value: `did ${cmd}\n` })) }));
  const s = await rawSession(vfs, '9P2000.L');
  const c = s.conn;
  await c.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['ctl'] });
  await c.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 2, wnames: ['ctl'] });
  await c.rpc({ type: 'Tlopen', tag: 1, fid: 1, flags: 2 });
  await c.rpc({ type: 'Tlopen', tag: 1, fid: 2, flags: 2 });
  expect(await c.rpc({ type: 'Twrite', tag: 1, fid: 1, offset: 0n, data: Buffer.from(' one \n') })).toMatchObject({ count: 6 });
  expect(await c.rpc({ type: 'Twrite', tag: 1, fid: 2, offset: 0n, data: Buffer.from('two') })).toMatchObject({ count: 3 });
  expect(await c.rpc({ type: 'Tread', tag: 1, fid: 1, offset: 0n, count: 100 })).toMatchObject({ data: Buffer.from('did one\n') });
  expect(await c.rpc({ type: 'Tread', tag: 1, fid: 2, offset: 0n, count: 100 })).toMatchObject({ data: Buffer.from('did two\n') });
  await s.end();
});

test('a stream file delivers the current value, then one line per change', async () => {
  const level = new Published('info');
  const s = await rawSession(new Vfs(staticDir({ level: streamFile(level) })), '9P2000.L');
  const c = s.conn;
  await c.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['level'] });
  await c.rpc({ type: 'Tlopen', tag: 1, fid: 1, flags: 0 });
  expect(await c.rpc({ type: 'Tread', tag: 1, fid: 1, offset: 0n, count: 100 })).toMatchObject({ data: Buffer.from('info\n') });
  await c.send({ type: 'Tread', tag: 2, fid: 1, offset: 5n, count: 100 });
  level.publish('debug');
  expect(await c.recv()).toMatchObject({ tag: 2, data: Buffer.from('debug\n') });
  // A reader that seeks back still gets the next change, not an error (datakit#67).
  await c.send({ type: 'Tread', tag: 3, fid: 1, offset: 0n, count: 3 });
  level.publish('warn');
  expect(await c.recv()).toMatchObject({ tag: 3, data: Buffer.from('war') });
  expect(await c.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 3n, count: 100 })).toMatchObject({ data: Buffer.from('n\n') });
  // A read still blocked when the client hangs up is cancelled, so the session ends.
  await c.send({ type: 'Tread', tag: 5, fid: 1, offset: 0n, count: 100 });
  const summary = await s.end();
  expect(summary.outcome).toBe('eof');
});

test('an in-memory file is bounded', async () => {
  const [a, b] = pair();
  const served = serve9p(b, new Vfs(staticDir({ f: memoryFile('', { maxSize: 1000 }).file })));
  const c = await connect9p(a);
  if (!c.ok) throw c.error;
  const r = await c.value.writeFile('f', Buffer.alloc(5000));
  expect(!r.ok && r.error.code).toBe('EFBIG');
  await c.value.close();
  await served;
});

test('a reply the wire cannot carry becomes an EIO error, and the session goes on', async () => {
  const vfs = new Vfs(staticDir({ long: { kind: 'symlink', target: 'x'.repeat(70000) }, ok: readOnlyFile('fine') }));
  const s = await rawSession(vfs, '9P2000.L');
  await s.conn.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['long'] });
  expect(await s.conn.rpc({ type: 'Treadlink', tag: 2, fid: 1 })).toEqual({ type: 'Rlerror', tag: 2, ecode: 5 });
  expect((await s.conn.rpc({ type: 'Twalk', tag: 3, fid: 0, newfid: 2, wnames: ['ok'] })).type).toBe('Rwalk');
  await s.end();
});
