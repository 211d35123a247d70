// Reading what a path is without its data: stat, readdir (Treaddir in .L, stat records read
// from the directory otherwise) and readlink, each answered the same whatever the dialect.
import { err, FlowError, ok, type Result } from '@flow/core';
import { decodeDirents, decodeStats } from '../wire/codec';
import { DM, GETATTR, IOHDRSZ, NONUNAME, S_IF } from '../wire/constants';
import type { DirectoryEntry, FileStat } from './options';
import { openFid, splitPath, typeOfQid, withFid } from './paths';
import type { RpcSession } from './rpc-session';

/** What `path` is: Tgetattr in .L, Tstat otherwise. */
export async function statPath(session: RpcSession, path: string): Promise<Result<FileStat, FlowError>> {
  const names = splitPath(path);
  const name = names[names.length - 1] ?? '/';
  return withFid(session, path, async (fid) => {
    if (session.dialect === '9P2000.L') {
      const r = await session.call({ type: 'Tgetattr', fid, requestMask: GETATTR.BASIC }, 'Rgetattr');
      if (!r.ok) return r;
      const v = r.value;
      const t = v.mode & S_IF.MT;
      return ok({
        name,
        type: t === S_IF.DIR ? 'directory' : t === S_IF.LNK ? 'symlink' : t === S_IF.REG ? 'file' : 'other',
        mode: v.mode & 0o7777,
        size: Number(v.size),
        mtimeMs: Number(v.mtimeSec) * 1000 + Math.floor(Number(v.mtimeNsec) / 1e6),
        uid: v.uid,
        gid: v.gid,
        qid: v.qid,
      } satisfies FileStat);
    }
    const r = await session.call({ type: 'Tstat', fid }, 'Rstat');
    if (!r.ok) return r;
    const s = r.value.stat;
    const type: FileStat['type'] =
      s.mode & DM.DIR ? 'directory' : s.mode & DM.SYMLINK ? 'symlink' : s.mode & (DM.DEVICE | DM.NAMEDPIPE | DM.SOCKET) ? 'other' : 'file';
    const num = (x: string, n: number | undefined): number | undefined =>
      n !== undefined && n !== NONUNAME ? n : /^\d+$/.test(x) ? Number(x) : undefined;
    return ok({
      name,
      type,
      mode: s.mode & 0o777,
      size: Number(s.length),
      mtimeMs: s.mtime * 1000,
      uid: num(s.uid, s.nUid),
      gid: num(s.gid, s.nGid),
      qid: s.qid,
    } satisfies FileStat);
  });
}

/** The entries of the directory `path`, without '.' and '..'. */
export async function readdirPath(session: RpcSession, path: string): Promise<Result<DirectoryEntry[], FlowError>> {
  return withFid(session, path, async (fid) => {
    const o = await openFid(session, fid, 'read');
    if (!o.ok) return o;
    const out: DirectoryEntry[] = [];
    const count = session.msize - IOHDRSZ;
    let offset = 0n;
    for (;;) {
      if (session.dialect === '9P2000.L') {
        const r = await session.call({ type: 'Treaddir', fid, offset, count }, 'Rreaddir');
        if (!r.ok) return r;
        if (r.value.data.length === 0) break;
        const d = decodeDirents(r.value.data);
        if (!d.ok) return d;
        for (const e of d.value) {
          if (e.name !== '.' && e.name !== '..') out.push({ name: e.name, type: typeOfQid(e.qid), qid: e.qid });
          offset = e.offset;
        }
      } else {
        const r = await session.call({ type: 'Tread', fid, offset, count }, 'Rread');
        if (!r.ok) return r;
        if (r.value.data.length === 0) break;
        const d = decodeStats(r.value.data, session.dialect === '9P2000.u' ? '9P2000.u' : '9P2000');
        if (!d.ok) return d;
        for (const s of d.value) {
          // .u servers (QEMU's, ours) list a Unix directory's '.' and '..'; .L's are skipped too.
          if (s.name === '.' || s.name === '..') continue;
          const type: FileStat['type'] = s.mode & DM.DIR ? 'directory' : s.mode & DM.SYMLINK ? 'symlink' : 'file';
          out.push({ name: s.name, type, qid: s.qid });
        }
        offset += BigInt(r.value.data.length);
      }
    }
    return ok(out);
  });
}

/** The target of the symbolic link `path` (.L Treadlink, .u the stat extension). */
export async function readlinkPath(session: RpcSession, path: string): Promise<Result<string, FlowError>> {
  if (session.dialect === '9P2000') return err(new FlowError('unsupported', '9P2000 has no symlinks'));
  return withFid(session, path, async (fid) => {
    if (session.dialect === '9P2000.L') {
      const r = await session.call({ type: 'Treadlink', fid }, 'Rreadlink');
      return r.ok ? ok(r.value.target) : r;
    }
    const r = await session.call({ type: 'Tstat', fid }, 'Rstat');
    if (!r.ok) return r;
    if (!(r.value.stat.mode & DM.SYMLINK)) return err(new FlowError('invalid', `${path} is not a symlink`, { code: 'EINVAL' }));
    return ok(r.value.stat.extension ?? '');
  });
}
