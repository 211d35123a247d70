// What a file or the filesystem says about itself, and changing it: Tstat/Twstat (9P2000/.u),
// Tgetattr/Tsetattr/Tstatfs (9P2000.L), extended attributes (none: an empty list), and the .L
// advisory locks (granted, since locks are local to the client's host).
import { type Attr, fsError, type FsNode, type FsResult, type SetAttr, type StatFs } from '../../fs/filesystem';
import { GETATTR, NOFID, S_IF } from '../../wire/constants';
import type { FidEntry } from '../fid-table';
import { setattrOfL, setattrOfWstat, statOf } from '../modes';
import { badName, type Outcome, type Req, type RequestContext, simple } from '../request';
import { renameOutcome } from './links';

/** What Tstatfs answers for a back end that has no statfs. */
const DEFAULT_STATFS: StatFs = {
  type: 0x01021997,
  bsize: 4096,
  blocks: 0n,
  bfree: 0n,
  bavail: 0n,
  files: 0n,
  ffree: 0n,
  fsid: 0n,
  namelen: 255,
};

/** The .u stat extension a file's type needs: a symlink's target, a device's numbers. */
export async function unixExtension(node: FsNode, a: Attr): Promise<string> {
  const t = a.mode & S_IF.MT;
  if (t === S_IF.LNK && node.readlink) {
    const l = await node.readlink();
    return l.ok ? l.value : '';
  }
  if (t === S_IF.BLK || t === S_IF.CHR) return `${t === S_IF.BLK ? 'b' : 'c'} ${a.rdev >>> 8} ${a.rdev & 0xff}`;
  return '';
}

/** Tstat (9P2000/.u): the fid's stat; the attach root is called '/'. */
export async function stat(s: RequestContext, m: Req<'Tstat'>): Promise<Outcome> {
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(m.tag, r.error);
  const e = r.value;
  const a = await e.node.getattr();
  if (!a.ok) return s.fail(m.tag, a.error);
  const dotu = s.dialect === '9P2000.u';
  const ext = dotu ? await unixExtension(e.node, a.value) : '';
  return { reply: { type: 'Rstat', tag: m.tag, stat: statOf(e.parents.length === 0 ? '/' : e.name, a.value, dotu, ext) } };
}

/** Applies `changes` to the fid's node; nothing to change is success even without setattr. */
async function setattrOn(e: FidEntry, changes: SetAttr): Promise<FsResult<void>> {
  if (Object.keys(changes).length === 0) return { ok: true, value: undefined };
  if (!e.node.setattr) return { ok: false, error: fsError('EOPNOTSUPP') };
  return e.node.setattr(changes);
}

/** Twstat (9P2000/.u): attribute changes and a rename in the same directory, checked first. */
export async function wstat(s: RequestContext, m: Req<'Twstat'>): Promise<Outcome> {
  const t = m.tag;
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(t, r.error);
  const e = r.value;
  const changes = setattrOfWstat(m.stat, s.dialect === '9P2000.u');
  const newName = m.stat.name;
  const parent = e.parents[e.parents.length - 1];
  // Check everything first, so that all changes happen or none do.
  if (newName !== '' && newName !== e.name) {
    if (badName(newName)) return s.fail(t, fsError('EINVAL', `invalid name ${JSON.stringify(newName)}`));
    if (!parent) return s.fail(t, fsError('EBUSY', 'the root cannot be renamed'));
    if (!parent.node.rename) return s.fail(t, fsError('EOPNOTSUPP'));
  }
  if (Object.keys(changes).length > 0 && !e.node.setattr) return s.fail(t, fsError('EOPNOTSUPP'));
  const st = await setattrOn(e, changes);
  if (!st.ok) return s.fail(t, st.error);
  if (newName !== '' && newName !== e.name && parent) {
    const parentEntry = { node: parent.node, parents: e.parents.slice(0, -1), name: parent.name };
    return renameOutcome(s, t, parent, e.name, parentEntry, newName, { type: 'Rwstat', tag: t });
  }
  return { reply: { type: 'Rwstat', tag: t } };
}

/** Tgetattr (9P2000.L): the basic attributes, whatever the request mask asks. */
export async function getattr(s: RequestContext, m: Req<'Tgetattr'>): Promise<Outcome> {
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(m.tag, r.error);
  const a = await r.value.node.getattr();
  if (!a.ok) return s.fail(m.tag, a.error);
  const v = a.value;
  const NS = 1_000_000_000n;
  return {
    reply: {
      type: 'Rgetattr', tag: m.tag, valid: GETATTR.BASIC, qid: v.qid, mode: v.mode, uid: v.uid, gid: v.gid,
      nlink: BigInt(v.nlink), rdev: BigInt(v.rdev), size: v.size, blksize: BigInt(v.blksize), blocks: v.blocks,
      atimeSec: v.atimeNs / NS, atimeNsec: v.atimeNs % NS, mtimeSec: v.mtimeNs / NS, mtimeNsec: v.mtimeNs % NS,
      ctimeSec: v.ctimeNs / NS, ctimeNsec: v.ctimeNs % NS, btimeSec: 0n, btimeNsec: 0n, gen: 0n, dataVersion: 0n,
    },
  };
}

/** Tsetattr (9P2000.L): the changes the valid mask names. */
export async function setattr(s: RequestContext, m: Req<'Tsetattr'>): Promise<Outcome> {
  const t = m.tag;
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(t, e.error);
  return simple(s, t, setattrOn(e.value, setattrOfL(m)), { type: 'Rsetattr', tag: t });
}

/** Tstatfs (9P2000.L): the back end's figures, or zeros for a synthetic tree. */
export async function statfs(s: RequestContext, m: Req<'Tstatfs'>): Promise<Outcome> {
  const t = m.tag;
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(t, e.error);
  const r = e.value.node.statfs ? await e.value.node.statfs() : { ok: true as const, value: DEFAULT_STATFS };
  if (!r.ok) return s.fail(t, r.error);
  const v = r.value;
  return {
    reply: {
      type: 'Rstatfs', tag: t, fsType: v.type, bsize: v.bsize, blocks: v.blocks, bfree: v.bfree,
      bavail: v.bavail, files: v.files, ffree: v.ffree, fsid: v.fsid, namelen: v.namelen,
    },
  };
}

/** Txattrwalk (9P2000.L): no extended attributes, so the list is empty and every named one absent. */
export async function xattrwalk(s: RequestContext, m: Req<'Txattrwalk'>): Promise<Outcome> {
  const t = m.tag;
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(t, r.error);
  const e = r.value;
  // No extended attributes: the list is empty and every named one is absent.
  if (m.name !== '') return s.fail(t, fsError('ENODATA'));
  if (m.newfid === NOFID) return s.fail(t, fsError('EBADF', 'NOFID cannot name a fid'));
  if (m.newfid !== m.fid && s.fids.has(m.newfid)) return s.fail(t, fsError('EBADF', `fid ${m.newfid} in use`));
  if (s.fids.full()) return s.fail(t, fsError('EMFILE'));
  return {
    reply: { type: 'Rxattrwalk', tag: t, size: 0n },
    commit: () => {
      if (m.newfid !== m.fid && s.fids.has(m.newfid)) return s.errorReply(t, fsError('EBADF'));
      s.fids.set(m.newfid, { ...e, open: { kind: 'xattr', data: new Uint8Array(0) }, removeOnClunk: false });
      return undefined;
    },
  };
}

/** Txattrcreate (9P2000.L): refused, extended attributes are not supported. */
export async function xattrcreate(s: RequestContext, m: Req<'Txattrcreate'>): Promise<Outcome> {
  return s.fail(m.tag, fsError('EOPNOTSUPP', 'extended attributes are not supported'));
}

/** Tlock (9P2000.L): granted on any fid the connection holds. */
export async function lock(s: RequestContext, m: Req<'Tlock'>): Promise<Outcome> {
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(m.tag, e.error);
  // Locks are advisory and local to the client's host; we grant them (as a single-client export).
  return { reply: { type: 'Rlock', tag: m.tag, status: 0 } };
}

/** Tgetlock (9P2000.L): no lock is ever held against the asker (F_UNLCK). */
export async function getlock(s: RequestContext, m: Req<'Tgetlock'>): Promise<Outcome> {
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(m.tag, e.error);
  return {
    reply: { type: 'Rgetlock', tag: m.tag, lockType: 2, start: m.start, length: m.length, procId: m.procId, clientId: m.clientId },
  };
}
