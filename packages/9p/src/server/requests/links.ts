// Names in directories: making them (Tmkdir, Tsymlink, Tmknod, Tlink), reading a symlink,
// removing them (Tremove, Tunlinkat) and moving them (Trename, Trenameat, and Twstat's rename
// through renameOutcome). After a rename, this connection's fids under the old name follow it.
import { fsError } from '../../fs/filesystem';
import { AT_REMOVEDIR, QT } from '../../wire/constants';
import type { Reply } from '../../wire/types';
import type { FidEntry, PathStep } from '../fid-table';
import { type Outcome, type Req, type RequestContext, simple } from '../request';

/** Treadlink (9P2000.L): a symlink's target. */
export async function readlink(s: RequestContext, m: Req<'Treadlink'>): Promise<Outcome> {
  const t = m.tag;
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(t, e.error);
  if (!(e.value.qid.type & QT.SYMLINK) || !e.value.node.readlink) return s.fail(t, fsError('EINVAL'));
  const r = await e.value.node.readlink();
  return r.ok ? { reply: { type: 'Rreadlink', tag: t, target: r.value } } : s.fail(t, r.error);
}

/** Tsymlink (9P2000.L): a symlink `name` in the directory `fid`. */
export async function symlink(s: RequestContext, m: Req<'Tsymlink'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.fid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  if (!d.value.node.symlink) return s.fail(t, fsError('EOPNOTSUPP'));
  const r = await d.value.node.symlink(m.name, m.symtgt);
  return r.ok ? { reply: { type: 'Rsymlink', tag: t, qid: r.value.qid } } : s.fail(t, r.error);
}

/** Tmknod (9P2000.L): a device, fifo or socket node. */
export async function mknod(s: RequestContext, m: Req<'Tmknod'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.dfid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  if (!d.value.node.mknod) return s.fail(t, fsError('EOPNOTSUPP'));
  const r = await d.value.node.mknod(m.name, m.mode, m.major, m.minor);
  return r.ok ? { reply: { type: 'Rmknod', tag: t, qid: r.value.qid } } : s.fail(t, r.error);
}

/** Tmkdir (9P2000.L): a directory (permission bits only; no setuid games). */
export async function mkdir(s: RequestContext, m: Req<'Tmkdir'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.dfid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  if (!d.value.node.mkdir) return s.fail(t, fsError('EOPNOTSUPP'));
  const r = await d.value.node.mkdir(m.name, m.mode & 0o7777);
  return r.ok ? { reply: { type: 'Rmkdir', tag: t, qid: r.value.qid } } : s.fail(t, r.error);
}

/** Tlink (9P2000.L): a hard link `name` to the file `fid` (never to a directory). */
export async function link(s: RequestContext, m: Req<'Tlink'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.dfid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  const target = s.entry(m.fid);
  if (!target.ok) return s.fail(t, target.error);
  if (target.value.qid.type & QT.DIR) return s.fail(t, fsError('EPERM', 'hard links to directories are not allowed'));
  if (!d.value.node.link) return s.fail(t, fsError('EOPNOTSUPP'));
  return simple(s, t, d.value.node.link(m.name, target.value.node), { type: 'Rlink', tag: t });
}

/** Tremove: removes the fid's file; the fid is clunked whatever the outcome (remove(5)). */
export async function remove(s: RequestContext, m: Req<'Tremove'>): Promise<Outcome> {
  // remove(5): the fid is clunked whatever the outcome.
  const e = s.fids.delete(m.fid);
  if (!e) return s.fail(m.tag, fsError('EBADF', `unknown fid ${m.fid}`));
  await s.releaseEntry(e, false);
  const parent = e.parents[e.parents.length - 1];
  if (!parent) return s.fail(m.tag, fsError('EBUSY', 'the root cannot be removed'));
  if (!parent.node.unlink) return s.fail(m.tag, fsError('EOPNOTSUPP'));
  return simple(s, m.tag, parent.node.unlink(e.name, (e.qid.type & QT.DIR) !== 0), { type: 'Rremove', tag: m.tag });
}

/** Tunlinkat (9P2000.L): removes `name` from the directory `dirfid`. */
export async function unlinkat(s: RequestContext, m: Req<'Tunlinkat'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.dirfid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  if (!d.value.node.unlink) return s.fail(t, fsError('EOPNOTSUPP'));
  return simple(s, t, d.value.node.unlink(m.name, (m.flags & AT_REMOVEDIR) !== 0), { type: 'Runlinkat', tag: t });
}

/** Trename (9P2000.L): moves the fid's file to `name` in the directory `dfid`. */
export async function rename(s: RequestContext, m: Req<'Trename'>): Promise<Outcome> {
  const t = m.tag;
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(t, e.error);
  const d = s.dirEntry(m.dfid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  const parent = e.value.parents[e.value.parents.length - 1];
  if (!parent) return s.fail(t, fsError('EBUSY', 'the root cannot be renamed'));
  return renameOutcome(s, t, parent, e.value.name, d.value, m.name, { type: 'Rrename', tag: t });
}

/** Trenameat (9P2000.L): moves `oldname` in `olddirfid` to `newname` in `newdirfid`. */
export async function renameat(s: RequestContext, m: Req<'Trenameat'>): Promise<Outcome> {
  const t = m.tag;
  const od = s.dirEntry(m.olddirfid, m.oldname);
  if (!od.ok) return s.fail(t, od.error);
  const nd = s.dirEntry(m.newdirfid, m.newname);
  if (!nd.ok) return s.fail(t, nd.error);
  return renameOutcome(s, t, stepOf(od.value), m.oldname, nd.value, m.newname, { type: 'Rrenameat', tag: t });
}

/** Renames in the back end, then re-roots this connection's fids that went through the old name. */
export async function renameOutcome(
  s: RequestContext,
  tag: number,
  oldDir: PathStep,
  oldName: string,
  newDir: Pick<FidEntry, 'node' | 'parents' | 'name'>,
  newName: string,
  reply: Reply,
): Promise<Outcome> {
  if (!oldDir.node.rename) return s.fail(tag, fsError('EOPNOTSUPP'));
  const r = await oldDir.node.rename(oldName, newDir.node, newName);
  if (!r.ok) return s.fail(tag, r.error);
  // Fids of this connection that went through the old name now go through the new one.
  const newChain: PathStep[] = [...newDir.parents, { node: newDir.node, name: newDir.name }];
  for (const [fid, f] of [...s.fids.pairs()]) {
    const chain = [...f.parents, { node: f.node, name: f.name }];
    for (let k = 1; k < chain.length; k++) {
      if (chain[k]!.name === oldName && chain[k - 1]!.node.qid.path === oldDir.node.qid.path) {
        const rest = chain.slice(k + 1);
        const full = [...newChain, { node: chain[k]!.node, name: newName }, ...rest];
        const last = full.pop()!;
        s.fids.set(fid, { ...f, parents: full, name: last.name });
        break;
      }
    }
  }
  return { reply };
}

function stepOf(e: FidEntry): PathStep {
  return { node: e.node, name: e.name };
}
