// Changing the names in the tree: mkdir, symlink, remove and rename, each in the requests its
// dialect has (9P2000.L's Tmkdir/Tsymlink/Trenameat, 9P2000/.u's Tcreate and Twstat).
import { err, FlowError, ok, type Result } from '@flow/core';
import { DM, NONUNAME, OMODE } from '../wire/constants';
import { splitPath, withFid } from './paths';
import type { RpcSession } from './rpc-session';

/** Makes the directory `path` (Tmkdir in .L, Tcreate with DMDIR otherwise). */
export async function mkdirPath(session: RpcSession, path: string, mode: number): Promise<Result<void, FlowError>> {
  const names = splitPath(path);
  const name = names.pop();
  if (name === undefined) return err(new FlowError('invalid', 'mkdir needs a name'));
  return withFid(session, names.join('/'), async (fid) => {
    if (session.dialect === '9P2000.L') {
      const r = await session.call({ type: 'Tmkdir', dfid: fid, name, mode, gid: process.getgid?.() ?? 0 }, 'Rmkdir');
      return r.ok ? ok(undefined) : r;
    }
    // Tcreate turns the fid into the new directory; withFid clunks it.
    const r = await session.call({ type: 'Tcreate', fid, name, perm: (DM.DIR | mode) >>> 0, mode: OMODE.READ, extension: '' }, 'Rcreate');
    return r.ok ? ok(undefined) : r;
  });
}

/** Creates a symbolic link `path` whose content is `target` (.L Tsymlink, .u Tcreate DMSYMLINK). */
export async function symlinkPath(session: RpcSession, path: string, target: string): Promise<Result<void, FlowError>> {
  const names = splitPath(path);
  const name = names.pop();
  if (name === undefined) return err(new FlowError('invalid', 'symlink needs a name'));
  if (session.dialect === '9P2000') return err(new FlowError('unsupported', '9P2000 has no symlinks'));
  return withFid(session, names.join('/'), async (fid) => {
    const r =
      session.dialect === '9P2000.L'
        ? await session.call({ type: 'Tsymlink', fid, name, symtgt: target, gid: process.getgid?.() ?? 0 }, 'Rsymlink')
        : await session.call({ type: 'Tcreate', fid, name, perm: (DM.SYMLINK | 0o777) >>> 0, mode: OMODE.READ, extension: target }, 'Rcreate');
    return r.ok ? ok(undefined) : r;
  });
}

/**
 * Removes `path` with Tremove. The server clunks the fid whatever the outcome (remove(5)), so
 * `forgetFid` is given the fid to free without a Tclunk.
 */
export async function removePath(session: RpcSession, path: string, forgetFid: (fid: number) => void): Promise<Result<void, FlowError>> {
  const w = await session.walk(splitPath(path));
  if (!w.ok) return w;
  const r = await session.call({ type: 'Tremove', fid: w.value }, 'Rremove');
  // remove(5): the fid is clunked even when the remove fails.
  forgetFid(w.value);
  return r.ok ? ok(undefined) : r;
}

/** Moves `from` to `to`: Trenameat (or Trename) in .L; within one directory, Twstat otherwise. */
export async function renamePath(session: RpcSession, from: string, to: string): Promise<Result<void, FlowError>> {
  const a = splitPath(from);
  const b = splitPath(to);
  const oldName = a.pop();
  const newName = b.pop();
  if (oldName === undefined || newName === undefined) return err(new FlowError('invalid', 'rename needs two names'));
  if (session.dialect === '9P2000.L') {
    return withFid(session, a.join('/'), (od) =>
      withFid(session, b.join('/'), async (nd) => {
        const r = await session.call({ type: 'Trenameat', olddirfid: od, oldname: oldName, newdirfid: nd, newname: newName }, 'Rrenameat');
        if (r.ok) return ok(undefined);
        if (r.error.kind !== 'unsupported') return r;
        // protocol.md: a server without renameat gets Trename.
        return withFid(session, [...a, oldName].join('/'), async (f) => {
          const rr = await session.call({ type: 'Trename', fid: f, dfid: nd, name: newName }, 'Rrename');
          return rr.ok ? ok(undefined) : rr;
        });
      }),
    );
  }
  if (a.join('/') !== b.join('/')) return err(new FlowError('unsupported', `${session.dialect} renames only within a directory`));
  return withFid(session, from, async (fid) => {
    const keep = { type: 0xffff, dev: NONUNAME, qid: { type: 0xff, version: NONUNAME, path: 0xffffffffffffffffn }, mode: NONUNAME, atime: NONUNAME, mtime: NONUNAME, length: 0xffffffffffffffffn, uid: '', gid: '', muid: '' };
    const stat = session.dialect === '9P2000.u' ? { ...keep, name: newName, extension: '', nUid: NONUNAME, nGid: NONUNAME, nMuid: NONUNAME } : { ...keep, name: newName };
    const r = await session.call({ type: 'Twstat', fid, stat }, 'Rwstat');
    return r.ok ? ok(undefined) : r;
  });
}
