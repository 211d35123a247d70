import * as fs from 'node:fs';
import * as path from 'node:path';
import { AT_REMOVEDIR, decodeDirents, DM, ERRNO, exportDirectory, LFLAGS, type Message, OMODE, S_IF, SETATTR, type UntaggedRequest } from '../src';
import { errnoOf, type RawConn, rawSession } from './support/raw';
import { tempDir } from './support/tmp';

// The operations Linux's v9fs performs on a mount, driven at the protocol level.
describe('host export: what a 9P2000.L mount does', () => {
  let tmp: ReturnType<typeof tempDir>;
  let conn: RawConn;
  let end: () => Promise<unknown>;
  let tag = 1;
  const rpc = (m: UntaggedRequest): Promise<Message> => conn.rpc({ ...m, tag: tag++ } as Message);
  const at = (...p: string[]): string => path.join(tmp.dir, ...p);

  beforeEach(async () => {
    tmp = tempDir();
    fs.writeFileSync(at('f'), 'hello');
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
    conn = s.conn;
    end = s.end;
    await rpc({ type: 'Twalk', fid: 0, newfid: 1, wnames: [] }); // fid 1: the root, as a directory fid
  });
  afterEach(async () => {
    await end();
    tmp.cleanup();
  });

  test('create, write, append, read back, fsync', async () => {
    await rpc({ type: 'Twalk', fid: 0, newfid: 2, wnames: [] });
    const c = await rpc({ type: 'Tlcreate', fid: 2, name: 'new', flags: LFLAGS.WRONLY | LFLAGS.CREAT | LFLAGS.TRUNC | LFLAGS.LARGEFILE, mode: 0o640, gid: 0 });
    expect(c.type).toBe('Rlcreate');
    expect(await rpc({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('abc') })).toMatchObject({ count: 3 });
    expect((await rpc({ type: 'Tfsync', fid: 2, datasync: 0 })).type).toBe('Rfsync');
    await rpc({ type: 'Tclunk', fid: 2 });
    expect(fs.statSync(at('new')).mode & 0o777).toBe(0o640);
    await rpc({ type: 'Twalk', fid: 0, newfid: 3, wnames: ['new'] });
    await rpc({ type: 'Tlopen', fid: 3, flags: LFLAGS.WRONLY | LFLAGS.APPEND });
    await rpc({ type: 'Twrite', fid: 3, offset: 0n, data: Buffer.from('def') });
    expect(fs.readFileSync(at('new'), 'utf8')).toBe('abcdef');
  });

  test('truncate, chmod and utimes through Tsetattr, seen by Tgetattr', async () => {
    await rpc({ type: 'Twalk', fid: 0, newfid: 2, wnames: ['f'] });
    const set = await rpc({
      type: 'Tsetattr', fid: 2, valid: SETATTR.SIZE | SETATTR.MODE | SETATTR.MTIME | SETATTR.MTIME_SET | SETATTR.ATIME | SETATTR.ATIME_SET,
      mode: 0o600, uid: 0, gid: 0, size: 2n, atimeSec: 1000n, atimeNsec: 0n, mtimeSec: 2000n, mtimeNsec: 0n,
    });
    expect(set.type).toBe('Rsetattr');
    expect(fs.readFileSync(at('f'), 'utf8')).toBe('he');
    const st = fs.statSync(at('f'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(Math.round(st.mtimeMs / 1000)).toBe(2000);
    const g = await rpc({ type: 'Tgetattr', fid: 2, requestMask: 0x3fffn });
    expect(g).toMatchObject({ type: 'Rgetattr', mode: S_IF.REG | 0o600, size: 2n, mtimeSec: 2000n });
  });

  test('chmod and utimes of the export root itself (chmod/touch of the mount point)', async () => {
    const set = await rpc({
      type: 'Tsetattr', fid: 0, valid: SETATTR.MODE | SETATTR.MTIME | SETATTR.MTIME_SET,
      mode: 0o750, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 3000n, mtimeNsec: 0n,
    });
    expect(set.type).toBe('Rsetattr');
    const st = fs.statSync(tmp.dir);
    expect(st.mode & 0o777).toBe(0o750);
    expect(Math.round(st.mtimeMs / 1000)).toBe(3000);
    // The root is still the root: its size cannot be set, and a symlink check still holds.
    expect(errnoOf(await rpc({ type: 'Tsetattr', fid: 0, valid: SETATTR.SIZE, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }))).toBe(ERRNO.EISDIR);
  });

  test('mkdir, rename, renameat, hard link, symlink, readlink, unlink, rmdir', async () => {
    expect((await rpc({ type: 'Tmkdir', dfid: 1, name: 'd', mode: 0o755, gid: 0 })).type).toBe('Rmkdir');
    await rpc({ type: 'Twalk', fid: 0, newfid: 2, wnames: ['d'] });
    await rpc({ type: 'Twalk', fid: 0, newfid: 3, wnames: ['f'] });
    expect((await rpc({ type: 'Trename', fid: 3, dfid: 2, name: 'moved' })).type).toBe('Rrename');
    expect(fs.readFileSync(at('d', 'moved'), 'utf8')).toBe('hello');
    // The fid follows the file it names after the rename.
    await rpc({ type: 'Tlopen', fid: 3, flags: 0 });
    expect(await rpc({ type: 'Tread', fid: 3, offset: 0n, count: 10 })).toMatchObject({ data: Buffer.from('hello') });
    expect((await rpc({ type: 'Trenameat', olddirfid: 2, oldname: 'moved', newdirfid: 1, newname: 'back' })).type).toBe('Rrenameat');
    await rpc({ type: 'Twalk', fid: 0, newfid: 4, wnames: ['back'] });
    expect((await rpc({ type: 'Tlink', dfid: 2, fid: 4, name: 'hard' })).type).toBe('Rlink');
    expect(fs.statSync(at('d', 'hard')).ino).toBe(fs.statSync(at('back')).ino);
    expect((await rpc({ type: 'Tsymlink', fid: 2, name: 'sym', symtgt: '../back', gid: 0 })).type).toBe('Rsymlink');
    await rpc({ type: 'Twalk', fid: 0, newfid: 5, wnames: ['d', 'sym'] });
    expect(await rpc({ type: 'Treadlink', fid: 5 })).toMatchObject({ target: '../back' });
    expect((await rpc({ type: 'Tunlinkat', dirfid: 2, name: 'sym', flags: 0 })).type).toBe('Runlinkat');
    expect((await rpc({ type: 'Tunlinkat', dirfid: 2, name: 'hard', flags: 0 })).type).toBe('Runlinkat');
    expect((await rpc({ type: 'Tunlinkat', dirfid: 1, name: 'd', flags: AT_REMOVEDIR })).type).toBe('Runlinkat');
    expect(fs.readdirSync(tmp.dir)).toEqual(['back']);
  });

  test('statfs, xattrwalk, lock, mknod are answered cleanly', async () => {
    const sf = await rpc({ type: 'Tstatfs', fid: 1 });
    expect(sf.type === 'Rstatfs' && sf.bsize).toBeGreaterThan(0);
    const xl = await rpc({ type: 'Txattrwalk', fid: 1, newfid: 9, name: '' });
    expect(xl).toMatchObject({ type: 'Rxattrwalk', size: 0n });
    expect((await rpc({ type: 'Tclunk', fid: 9 })).type).toBe('Rclunk');
    expect(errnoOf(await rpc({ type: 'Txattrwalk', fid: 1, newfid: 9, name: 'user.x' }))).toBe(ERRNO.ENODATA);
    expect(errnoOf(await rpc({ type: 'Txattrcreate', fid: 1, name: 'user.x', attrSize: 1n, flags: 0 }))).toBe(ERRNO.EOPNOTSUPP);
    expect(await rpc({ type: 'Tlock', fid: 1, lockType: 1, flags: 0, start: 0n, length: 0n, procId: 1, clientId: 'h' })).toMatchObject({ type: 'Rlock', status: 0 });
    expect(errnoOf(await rpc({ type: 'Tmknod', dfid: 1, name: 'fifo', mode: S_IF.FIFO | 0o644, major: 0, minor: 0, gid: 0 }))).toBe(ERRNO.EOPNOTSUPP);
  });

  test('a directory of 5000 entries is listed completely', async () => {
    for (let i = 0; i < 5000; i++) fs.writeFileSync(at(`e${i}`), '');
    await rpc({ type: 'Tlopen', fid: 1, flags: 0 });
    let offset = 0n;
    let n = 0;
    for (;;) {
      const r = await rpc({ type: 'Treaddir', fid: 1, offset, count: 8192 });
      if (r.type !== 'Rreaddir' || r.data.length === 0) break;
      const d = decodeDirents(r.data);
      if (!d.ok) throw d.error;
      n += d.value.length;
      offset = d.value[d.value.length - 1]!.offset;
    }
    expect(n).toBe(5000 + 1 + 2); // the files, f, '.' and '..'
  });
});

describe('host export: what a 9P2000.u mount does', () => {
  test('symlinks and hard links through Tcreate extensions, chmod and truncate through Twstat', async () => {
    const tmp = tempDir();
    fs.writeFileSync(path.join(tmp.dir, 'f'), 'hello');
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.u');
    let tag = 1;
    const rpc = (m: UntaggedRequest): Promise<Message> => s.conn.rpc({ ...m, tag: tag++ } as Message);
    await rpc({ type: 'Twalk', fid: 0, newfid: 1, wnames: [] });
    expect((await rpc({ type: 'Tcreate', fid: 1, name: 'sym', perm: (DM.SYMLINK | 0o777) >>> 0, mode: OMODE.READ, extension: 'f' })).type).toBe('Rcreate');
    expect(fs.readlinkSync(path.join(tmp.dir, 'sym'))).toBe('f');
    await rpc({ type: 'Twalk', fid: 0, newfid: 2, wnames: [] });
    await rpc({ type: 'Twalk', fid: 0, newfid: 3, wnames: ['f'] });
    // Linux names the link target by fid number, with a trailing newline.
    expect((await rpc({ type: 'Tcreate', fid: 2, name: 'hard', perm: DM.LINK >>> 0, mode: OMODE.READ, extension: '3\n' })).type).toBe('Rcreate');
    expect(fs.statSync(path.join(tmp.dir, 'hard')).ino).toBe(fs.statSync(path.join(tmp.dir, 'f')).ino);
    const keep = { type: 0xffff, dev: 0xffffffff, qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn }, atime: 0xffffffff, mtime: 0xffffffff, name: '', uid: '', gid: '', muid: '', extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff };
    expect((await rpc({ type: 'Twstat', fid: 3, stat: { ...keep, mode: 0o600, length: 3n } })).type).toBe('Rwstat');
    expect(fs.readFileSync(path.join(tmp.dir, 'f'), 'utf8')).toBe('hel');
    expect(fs.statSync(path.join(tmp.dir, 'f')).mode & 0o777).toBe(0o600);
    const st = await rpc({ type: 'Tstat', fid: 3 });
    expect(st).toMatchObject({ type: 'Rstat', stat: { name: 'f', length: 3n, mode: 0o600 } });
    expect((await rpc({ type: 'Twstat', fid: 3, stat: { ...keep, mode: 0xffffffff, length: 0xffffffffffffffffn, name: 'g' } })).type).toBe('Rwstat');
    expect(fs.readdirSync(tmp.dir).sort()).toEqual(['g', 'hard', 'sym']);
    // Twstat of the export root (chmod and touch of the mount point).
    expect((await rpc({ type: 'Twstat', fid: 0, stat: { ...keep, mode: (DM.DIR | 0o710) >>> 0, length: 0xffffffffffffffffn, mtime: 4000 } })).type).toBe('Rwstat');
    expect(fs.statSync(tmp.dir).mode & 0o777).toBe(0o710);
    expect(Math.round(fs.statSync(tmp.dir).mtimeMs / 1000)).toBe(4000);
    await s.end();
    tmp.cleanup();
  });
});
