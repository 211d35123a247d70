// Id policies of the host export: what a client may do with owners and setuid/setgid bits,
// since the server acts with its own credentials (as root, a client could otherwise make
// setuid-root programs or give files to root).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultIdPolicy, DM, ERRNO, exportDirectory, type IdPolicy, LFLAGS, type Message, OMODE, SETATTR, type UntaggedRequest } from '../src';
import { errnoOf, rawSession } from './support/raw';
import { tempDir } from './support/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'f'), 'x');
});
afterEach(() => tmp.cleanup());

const root = process.getuid?.() === 0;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const setattr = (fid: number, valid: number, v: { mode?: number; uid?: number; gid?: number }): UntaggedRequest => ({
  type: 'Tsetattr', fid, valid, mode: v.mode ?? 0, uid: v.uid ?? 0, gid: v.gid ?? 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n,
});

async function session(ids: IdPolicy | undefined, dialect: '9P2000.L' | '9P2000.u' = '9P2000.L') {
  const s = await rawSession(exportDirectory(tmp.dir, ids === undefined ? {} : { ids }), dialect);
  let tag = 1;
  const rpc = (m: UntaggedRequest): Promise<Message> => s.conn.rpc({ ...m, tag: tag++ } as Message);
  await rpc({ type: 'Twalk', fid: 0, newfid: 1, wnames: [] }); // a directory fid
  await rpc({ type: 'Twalk', fid: 0, newfid: 2, wnames: ['f'] }); // the file f
  return { rpc, end: s.end };
}

describe("'no-root'", () => {
  test('refuses setuid/setgid bits in creates, mkdir and chmod, and chown/chgrp to root', async () => {
    const { rpc, end } = await session('no-root');
    expect(errnoOf(await rpc({ type: 'Tlcreate', fid: 1, name: 'suid', flags: LFLAGS.RDWR, mode: 0o4755, gid: 0 }))).toBe(ERRNO.EPERM);
    expect(fs.existsSync(path.join(tmp.dir, 'suid'))).toBe(false);
    expect(errnoOf(await rpc({ type: 'Tmkdir', dfid: 1, name: 'sgid', mode: 0o2775, gid: 0 }))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc(setattr(2, SETATTR.MODE, { mode: 0o4755 })))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc(setattr(2, SETATTR.MODE, { mode: 0o2755 })))).toBe(ERRNO.EPERM);
    expect(fs.statSync(path.join(tmp.dir, 'f')).mode & 0o7000).toBe(0);
    expect(errnoOf(await rpc(setattr(2, SETATTR.UID, { uid: 0 })))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc(setattr(2, SETATTR.GID, { gid: 0 })))).toBe(ERRNO.EPERM);
    // Plain modes, and owners other than root (here: our own), are fine.
    expect((await rpc(setattr(2, SETATTR.MODE, { mode: 0o751 }))).type).toBe('Rsetattr');
    expect(fs.statSync(path.join(tmp.dir, 'f')).mode & 0o7777).toBe(0o751);
    if (!root) expect((await rpc(setattr(2, SETATTR.UID | SETATTR.GID, me))).type).toBe('Rsetattr');
    else expect((await rpc(setattr(2, SETATTR.UID | SETATTR.GID, { uid: 1234, gid: 1234 }))).type).toBe('Rsetattr');
    expect((await rpc({ type: 'Tmkdir', dfid: 1, name: 'plain', mode: 0o755, gid: 0 })).type).toBe('Rmkdir');
    await end();
  });

  test('9P2000.u Twstat: setuid bits and n_uid 0 are refused', async () => {
    const { rpc, end } = await session('no-root', '9P2000.u');
    const keep = { type: 0xffff, dev: 0xffffffff, qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn }, atime: 0xffffffff, mtime: 0xffffffff, length: 0xffffffffffffffffn, name: '', uid: '', gid: '', muid: '', extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff };
    expect(errnoOf(await rpc({ type: 'Twstat', fid: 2, stat: { ...keep, mode: (DM.SETUID | 0o755) >>> 0 } }))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc({ type: 'Twstat', fid: 2, stat: { ...keep, mode: 0xffffffff, nUid: 0 } }))).toBe(ERRNO.EPERM);
    expect((await rpc({ type: 'Tcreate', fid: 1, name: 'g', perm: 0o644, mode: OMODE.RDWR, extension: '' })).type).toBe('Rcreate');
    await end();
  });
});

describe('squash', () => {
  // Squashing to another owner needs root; otherwise squash to ourselves (always allowed).
  const to = root ? { uid: 65534, gid: 65534 } : me;

  test('every file a client makes is given to the squash ids; chown and setuid bits are refused', async () => {
    const { rpc, end } = await session({ squash: to });
    expect((await rpc({ type: 'Tlcreate', fid: 1, name: 'new', flags: LFLAGS.RDWR, mode: 0o644, gid: 0 })).type).toBe('Rlcreate');
    expect((await rpc({ type: 'Tmkdir', dfid: 0, name: 'd', mode: 0o755, gid: 0 })).type).toBe('Rmkdir');
    expect((await rpc({ type: 'Tsymlink', fid: 0, name: 'l', symtgt: 'new', gid: 0 })).type).toBe('Rsymlink');
    for (const n of ['new', 'd', 'l']) {
      const st = fs.lstatSync(path.join(tmp.dir, n));
      expect([n, st.uid, st.gid]).toEqual([n, to.uid, to.gid]);
    }
    expect(errnoOf(await rpc(setattr(2, SETATTR.UID, { uid: to.uid })))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc(setattr(2, SETATTR.GID, { gid: to.gid })))).toBe(ERRNO.EPERM);
    expect(errnoOf(await rpc({ type: 'Tmkdir', dfid: 0, name: 'sgid', mode: 0o2755, gid: 0 }))).toBe(ERRNO.EPERM);
    expect((await rpc(setattr(2, SETATTR.MODE, { mode: 0o600 }))).type).toBe('Rsetattr');
    await end();
  });

  test('bad squash ids are a programmer error', () => {
    expect(() => exportDirectory(tmp.dir, { ids: { squash: { uid: -1, gid: 0 } } })).toThrow(RangeError);
    expect(() => exportDirectory(tmp.dir, { ids: 'everyone' as unknown as IdPolicy })).toThrow(RangeError);
  });
});

test("'passthrough' lets the process do what it may", async () => {
  const { rpc, end } = await session('passthrough');
  const r = await rpc(setattr(2, SETATTR.MODE, { mode: 0o4755 }));
  expect(r.type).toBe('Rsetattr'); // an owner may always set setuid on its own file
  expect(fs.statSync(path.join(tmp.dir, 'f')).mode & 0o7777).toBe(0o4755);
  await end();
});

test("the default is 'no-root' when the server runs as root, 'passthrough' otherwise", async () => {
  expect(defaultIdPolicy(0)).toBe('no-root');
  expect(defaultIdPolicy(1000)).toBe('passthrough');
  const { rpc, end } = await session(undefined);
  const r = await rpc({ type: 'Tlcreate', fid: 1, name: 'suid', flags: LFLAGS.RDWR, mode: 0o4755, gid: 0 });
  if (root) expect(errnoOf(r)).toBe(ERRNO.EPERM);
  else expect(r.type).toBe('Rlcreate');
  await end();
});
