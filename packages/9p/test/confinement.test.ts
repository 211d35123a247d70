import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Dialect, DM, ERRNO, exportDirectory, LFLAGS, type Message, QT, type UntaggedRequest } from '../src';
import { errnoOf, type RawConn, rawSession } from './support/raw';
import { tempDir } from './support/tmp';

const SECRET = 'outside-secret\n';

describe.each<Dialect>(['9P2000', '9P2000.u', '9P2000.L'])('confinement of the host export in %s', (dialect) => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  let outside: string;
  let conn: RawConn;
  let end: () => Promise<unknown>;
  let tag = 10;
  let nextFid = 100;

  const rpc = (m: UntaggedRequest): Promise<Message> => conn.rpc({ ...m, tag: tag++ } as Message);
  const walk = async (names: string[]): Promise<{ fid: number; reply: Message }> => {
    const fid = nextFid++;
    const reply = await rpc({ type: 'Twalk', fid: 0, newfid: fid, wnames: names });
    return { fid, reply };
  };
  const openRead = (fid: number): Promise<Message> =>
    dialect === '9P2000.L' ? rpc({ type: 'Tlopen', fid, flags: LFLAGS.RDONLY }) : rpc({ type: 'Topen', fid, mode: 0 });
  const readAll = async (fid: number): Promise<string | undefined> => {
    const r = await rpc({ type: 'Tread', fid, offset: 0n, count: 4096 });
    return r.type === 'Rread' ? Buffer.from(r.data).toString() : undefined;
  };
  const outsideUntouched = (): void => {
    expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe(SECRET);
    expect(fs.readdirSync(outside).sort()).toEqual(['secret']);
    expect(fs.readdirSync(tmp.dir).sort()).toEqual(['export', 'outside']);
  };

  beforeEach(async () => {
    tmp = tempDir('flow-9p-conf-');
    root = path.join(tmp.dir, 'export');
    outside = path.join(tmp.dir, 'outside');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), SECRET);
    fs.writeFileSync(path.join(root, 'sub', 'f.txt'), 'inside');
    fs.writeFileSync(path.join(root, 'victim'), 'inside');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'abs-link'));
    fs.symlinkSync('../outside', path.join(root, 'up-link'));
    const s = await rawSession(exportDirectory(root), dialect);
    conn = s.conn;
    end = s.end;
  });

  afterEach(async () => {
    await end();
    outsideUntouched();
    tmp.cleanup();
  });

  test.each([
    ['".." chain', ['..', '..', 'outside', 'secret']],
    ['".." in the middle', ['sub', '..', '..', 'outside', 'secret']],
    ['an absolute name', ['<outside>/secret']],
    ['a name with "/"', ['../outside/secret']],
    ['a name with NUL', ['sub\0']],
    ['through a symlink to a directory outside', ['up-link', 'secret']],
  ])('walk by %s does not reach the outside file', async (_what, given) => {
    const names = given.map((n) => n.replace('<outside>', outside));
    const { fid, reply } = await walk(names);
    if (reply.type === 'Rwalk' && reply.qids.length === names.length) {
      // Only possible when every ".." stayed at the root and the last name exists inside: then it is not the secret.
      const o = await openRead(fid);
      if (o.type === 'Rlopen' || o.type === 'Ropen') expect(await readAll(fid)).not.toBe(SECRET);
    } else {
      expect(reply.type === 'Rwalk' ? reply.qids.length < names.length : errnoOf(reply) !== undefined).toBe(true);
    }
  });

  test('a symlink pointing out is reported as a symlink and never opened', async () => {
    const { fid, reply } = await walk(['abs-link']);
    expect(reply.type).toBe('Rwalk');
    if (reply.type !== 'Rwalk') return;
    if (dialect !== '9P2000') expect(reply.qids[0]!.type & QT.SYMLINK).toBe(QT.SYMLINK);
    if (dialect === '9P2000.L') {
      expect(await rpc({ type: 'Treadlink', fid })).toMatchObject({ type: 'Rreadlink', target: path.join(outside, 'secret') });
    } else {
      const st = await rpc({ type: 'Tstat', fid });
      if (dialect === '9P2000.u') expect(st).toMatchObject({ stat: { extension: path.join(outside, 'secret') } });
      expect(st.type === 'Rstat' && st.stat.mode & DM.SYMLINK).toBe(dialect === '9P2000.u' ? DM.SYMLINK : 0);
    }
    const o = await openRead(fid);
    expect(errnoOf(o)).toBeDefined();
  });

  test('a symlink swapped in for a directory after the walk is caught', async () => {
    const { fid, reply } = await walk(['sub', 'f.txt']);
    expect(reply.type === 'Rwalk' && reply.qids.length).toBe(2);
    fs.renameSync(path.join(root, 'sub'), path.join(root, 'sub-real'));
    fs.writeFileSync(path.join(outside, 'f.txt'), SECRET);
    fs.symlinkSync(outside, path.join(root, 'sub'));
    const o = await openRead(fid);
    expect(errnoOf(o)).toBeDefined();
    fs.unlinkSync(path.join(outside, 'f.txt'));
  });

  test('a symlink swapped in for the file after the walk is not followed (open, truncate)', async () => {
    const { fid } = await walk(['victim']);
    const { fid: fid2 } = await walk(['victim']);
    fs.unlinkSync(path.join(root, 'victim'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'victim'));
    expect(errnoOf(await openRead(fid))).toBeDefined();
    const trunc =
      dialect === '9P2000.L'
        ? await rpc({ type: 'Tsetattr', fid: fid2, valid: 0x8, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n })
        : await rpc({
            type: 'Twstat', fid: fid2,
            stat: {
              type: 0xffff, dev: 0xffffffff, qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn }, mode: 0xffffffff,
              atime: 0xffffffff, mtime: 0xffffffff, length: 0n, name: '', uid: '', gid: '', muid: '',
              ...(dialect === '9P2000.u' ? { extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff } : {}),
            },
          });
    expect(errnoOf(trunc)).toBeDefined();
  });

  test.each(['../escaped', 'a/b', '..', '.', ''])('creating a file named %j is refused', async (name) => {
    const { fid } = await walk([]);
    const r =
      dialect === '9P2000.L'
        ? await rpc({ type: 'Tlcreate', fid, name, flags: LFLAGS.WRONLY, mode: 0o644, gid: 0 })
        : await rpc({ type: 'Tcreate', fid, name, perm: 0o644, mode: 1, extension: '' });
    expect(errnoOf(r)).toBe(dialect === '9P2000' ? -1 : ERRNO.EINVAL);
  });

  test('mkdir, symlink, link, rename and unlink with escaping names are refused', async () => {
    const { fid: dir } = await walk([]);
    const { fid: file } = await walk(['victim']);
    const bad = '../outside/x';
    const replies: Message[] = [];
    if (dialect === '9P2000.L') {
      replies.push(await rpc({ type: 'Tmkdir', dfid: dir, name: bad, mode: 0o755, gid: 0 }));
      replies.push(await rpc({ type: 'Tsymlink', fid: dir, name: bad, symtgt: '/etc/passwd', gid: 0 }));
      replies.push(await rpc({ type: 'Tlink', dfid: dir, fid: file, name: bad }));
      replies.push(await rpc({ type: 'Trename', fid: file, dfid: dir, name: bad }));
      replies.push(await rpc({ type: 'Trenameat', olddirfid: dir, oldname: 'victim', newdirfid: dir, newname: bad }));
      replies.push(await rpc({ type: 'Trenameat', olddirfid: dir, oldname: '../outside/secret', newdirfid: dir, newname: 'stolen' }));
      replies.push(await rpc({ type: 'Tunlinkat', dirfid: dir, name: '../outside/secret', flags: 0 }));
    } else {
      replies.push(await rpc({ type: 'Tcreate', fid: dir, name: bad, perm: (DM.DIR | 0o755) >>> 0, mode: 0, extension: '' }));
      const { fid: d2 } = await walk([]);
      replies.push(await rpc({ type: 'Tcreate', fid: d2, name: bad, perm: (DM.SYMLINK | 0o777) >>> 0, mode: 0, extension: '/etc/passwd' }));
      replies.push(
        await rpc({
          type: 'Twstat', fid: file,
          stat: {
            type: 0xffff, dev: 0xffffffff, qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn }, mode: 0xffffffff,
            atime: 0xffffffff, mtime: 0xffffffff, length: 0xffffffffffffffffn, name: bad, uid: '', gid: '', muid: '',
            ...(dialect === '9P2000.u' ? { extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff } : {}),
          },
        }),
      );
    }
    for (const r of replies) expect(errnoOf(r)).toBeDefined();
    expect(fs.readdirSync(root).sort()).toEqual(['abs-link', 'sub', 'up-link', 'victim']);
  });

  if (dialect === '9P2000.L') {
    test('a hard link to an outside symlink still never yields the target', async () => {
      const { fid: dir } = await walk([]);
      const { fid: link } = await walk(['abs-link']);
      expect((await rpc({ type: 'Tlink', dfid: dir, fid: link, name: 'hl' })).type).toBe('Rlink');
      expect(fs.lstatSync(path.join(root, 'hl')).isSymbolicLink()).toBe(true);
      const { fid } = await walk(['hl']);
      expect(errnoOf(await openRead(fid))).toBeDefined();
      fs.unlinkSync(path.join(root, 'hl'));
    });
  }
});

test('a read-only export refuses every change', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'f'), 'x');
  const s = await rawSession(exportDirectory(tmp.dir, { readOnly: true }), '9P2000.L');
  const c = s.conn;
  await c.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['f'] });
  await c.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: [] });
  expect(errnoOf(await c.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: LFLAGS.WRONLY }))).toBe(ERRNO.EROFS);
  expect(errnoOf(await c.rpc({ type: 'Tlcreate', tag: 2, fid: 2, name: 'n', flags: 1, mode: 0o644, gid: 0 }))).toBe(ERRNO.EROFS);
  expect(errnoOf(await c.rpc({ type: 'Tunlinkat', tag: 2, dirfid: 2, name: 'f', flags: 0 }))).toBe(ERRNO.EROFS);
  expect(errnoOf(await c.rpc({ type: 'Tmkdir', tag: 2, dfid: 2, name: 'd', mode: 0o755, gid: 0 }))).toBe(ERRNO.EROFS);
  expect((await c.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: LFLAGS.RDONLY })).type).toBe('Rlopen');
  await s.end();
  expect(fs.readdirSync(tmp.dir)).toEqual(['f']);
  tmp.cleanup();
});
