// The life of a fid: Twalk binds a new fid to a path (never above the attach root), Topen and
// Tlopen open it, Tcreate and Tlcreate make a file in a directory fid and turn the fid into the
// new file, opened, and Tclunk lets it go. Every fid-table change is made in the outcome's
// commit, so a flushed request changes nothing.
import { type FsError, fsError, type FsNode } from '../../fs/filesystem';
import { DM, NOFID, QT, S_IF } from '../../wire/constants';
import type { Qid, Reply } from '../../wire/types';
import type { FidEntry, PathStep } from '../fid-table';
import { intentFromLflags, intentFromOmode } from '../modes';
import { badName, closeQuietly, type Outcome, type Pending, type Req, type RequestContext } from '../request';

/** Twalk: follows `wnames` from `fid` and binds the result to `newfid` (walk(5)). */
export async function walk(s: RequestContext, m: Req<'Twalk'>, pending: Pending): Promise<Outcome> {
  const t = m.tag;
  const src = s.entry(m.fid);
  if (!src.ok) return s.fail(t, src.error);
  const e = src.value;
  // NOFID means "no fid" wherever a message carries one (attach's afid): it is never bound.
  if (m.newfid === NOFID) return s.fail(t, fsError('EBADF', 'NOFID cannot name a fid'));
  if (m.newfid !== m.fid) {
    if (s.fids.has(m.newfid)) return s.fail(t, fsError('EBADF', `fid ${m.newfid} in use`));
    if (s.fids.full()) return s.fail(t, fsError('EMFILE', 'too many fids'));
  } else if (e.open) {
    return s.fail(t, fsError('EBADF', 'cannot walk an open fid in place'));
  }
  let node = e.node;
  let name = e.name;
  let qid = e.qid;
  const parents: PathStep[] = [...e.parents];
  const qids: Qid[] = [];
  let failure: FsError | undefined;
  for (const w of m.wnames) {
    if (pending.aborted) return s.fail(t, fsError('ECANCELED'));
    if (w === '..') {
      // `..` of the attach root is the root: a walk never leaves the tree it attached to.
      const up = parents.pop();
      if (up) {
        node = up.node;
        name = up.name;
        qid = up.node.qid;
      }
    } else if (w === '.' && s.dialect === '9P2000.L') {
      // diodls walks "." when listing; in .L it means "stay here".
    } else if (badName(w)) {
      failure = fsError('EINVAL', `invalid name ${JSON.stringify(w)}`);
    } else if (!(qid.type & QT.DIR)) {
      failure = fsError('ENOTDIR');
    } else {
      const r = await node.walk(w);
      if (!r.ok) failure = r.error;
      else {
        parents.push({ node, name });
        node = r.value;
        name = w;
        qid = node.qid;
      }
    }
    if (failure) break;
    qids.push(qid);
  }
  if (failure && qids.length === 0) return s.fail(t, failure);
  // walk(5): a later name failing is a short Rwalk, and newfid is not bound.
  if (failure) return { reply: { type: 'Rwalk', tag: t, qids } };
  const finalNode = node;
  const finalName = name;
  const finalQid = qid;
  return {
    reply: { type: 'Rwalk', tag: t, qids },
    commit: () => {
      const cur = s.fids.get(m.fid);
      if (!cur) return s.errorReply(t, fsError('EBADF', `fid ${m.fid} was clunked`));
      if (m.newfid !== m.fid) {
        if (s.fids.has(m.newfid)) return s.errorReply(t, fsError('EBADF', `fid ${m.newfid} in use`));
        if (s.fids.full()) return s.errorReply(t, fsError('EMFILE', 'too many fids'));
      } else if (cur.open) return s.errorReply(t, fsError('EBADF', 'cannot walk an open fid in place'));
      s.fids.set(m.newfid, {
        node: finalNode, parents, name: finalName, qid: finalQid, open: undefined, removeOnClunk: false,
        uname: e.uname, nUname: e.nUname,
      });
      return undefined;
    },
  };
}

/** The outcome of an open: the fid becomes open as `open` when the reply is sent. */
function openCommit(s: RequestContext, tag: number, fid: number, e: FidEntry, open: FidEntry['open'], reply: Reply, removeOnClunk = false): Outcome {
  const rollback = (): void => {
    if (open?.kind === 'file') closeQuietly(open.file);
  };
  return {
    reply,
    commit: () => {
      if (s.fids.get(fid) !== e || e.open) {
        rollback();
        return s.errorReply(tag, fsError('EBADF', `fid ${fid} changed while opening`));
      }
      e.open = open;
      e.removeOnClunk = removeOnClunk;
      return undefined;
    },
    rollback,
  };
}

/** Opens `fid` with `intent` (a directory only for reading); `make` builds the dialect's reply. */
async function openAs(
  s: RequestContext,
  tag: number,
  fid: number,
  intent: { read: boolean; write: boolean; truncate: boolean; append: boolean },
  make: (qid: Qid) => Reply,
  removeOnClunk = false,
): Promise<Outcome> {
  const r = s.entry(fid);
  if (!r.ok) return s.fail(tag, r.error);
  const e = r.value;
  if (e.open) return s.fail(tag, fsError('EBADF', `fid ${fid} is already open`));
  if (e.qid.type & QT.DIR) {
    if (intent.write || intent.truncate) return s.fail(tag, fsError('EISDIR'));
    return openCommit(s, tag, fid, e, { kind: 'dir', listing: undefined }, make(e.qid), removeOnClunk);
  }
  const f = await e.node.open(intent);
  if (!f.ok) return s.fail(tag, f.error);
  return openCommit(s, tag, fid, e, { kind: 'file', file: f.value, read: intent.read, write: intent.write }, make(e.qid), removeOnClunk);
}

/** Topen (9P2000/.u): opens with a Plan 9 mode (ORCLOSE included). */
export function open(s: RequestContext, m: Req<'Topen'>): Promise<Outcome> {
  const intent = intentFromOmode(m.mode);
  return openAs(s, m.tag, m.fid, intent, (qid) => ({ type: 'Ropen', tag: m.tag, qid, iounit: s.iounit }), intent.removeOnClunk);
}

/** Tlopen (9P2000.L): opens with Linux open(2) flags. */
export function lopen(s: RequestContext, m: Req<'Tlopen'>): Promise<Outcome> {
  return openAs(s, m.tag, m.fid, intentFromLflags(m.flags), (qid) => ({ type: 'Rlopen', tag: m.tag, qid, iounit: s.iounit }));
}

/** After a create, the fid stands for the new file, opened. */
function createdCommit(s: RequestContext, tag: number, fid: number, e: FidEntry, node: FsNode, name: string, open: FidEntry['open'], reply: Reply, removeOnClunk = false): Outcome {
  const rollback = (): void => {
    if (open?.kind === 'file') closeQuietly(open.file);
  };
  return {
    reply,
    commit: () => {
      if (s.fids.get(fid) !== e || e.open) {
        rollback();
        return s.errorReply(tag, fsError('EBADF', `fid ${fid} changed while creating`));
      }
      s.fids.set(fid, {
        node, parents: [...e.parents, { node: e.node, name: e.name }], name, qid: node.qid, open, removeOnClunk,
        uname: e.uname, nUname: e.nUname,
      });
      return undefined;
    },
    rollback,
  };
}

/** Tlcreate (9P2000.L): creates and opens a regular file in the directory `fid`. */
export async function lcreate(s: RequestContext, m: Req<'Tlcreate'>): Promise<Outcome> {
  const d = s.dirEntry(m.fid, m.name);
  if (!d.ok) return s.fail(m.tag, d.error);
  const e = d.value;
  if (e.open) return s.fail(m.tag, fsError('EBADF', `fid ${m.fid} is open`));
  if (!e.node.create) return s.fail(m.tag, fsError('EOPNOTSUPP'));
  const intent = intentFromLflags(m.flags);
  const r = await e.node.create(m.name, m.mode & 0o7777, intent);
  if (!r.ok) return s.fail(m.tag, r.error);
  const { node, file } = r.value;
  return createdCommit(s, m.tag, m.fid, e, node, m.name, { kind: 'file', file, read: intent.read, write: intent.write }, {
    type: 'Rlcreate', tag: m.tag, qid: node.qid, iounit: s.iounit,
  });
}

/**
 * Tcreate (9P2000/.u): a file or directory, and in .u also a symlink, hard link or device,
 * chosen by the permission bits (the extension says the target or the device numbers).
 */
export async function create(s: RequestContext, m: Req<'Tcreate'>): Promise<Outcome> {
  const t = m.tag;
  const d = s.dirEntry(m.fid, m.name);
  if (!d.ok) return s.fail(t, d.error);
  const e = d.value;
  if (e.open) return s.fail(t, fsError('EBADF', `fid ${m.fid} is open`));
  const dotu = s.dialect === '9P2000.u';
  const perm = m.perm;
  const mode = perm & 0o777;
  const intent = intentFromOmode(m.mode);
  const made = (node: FsNode, open: FidEntry['open']): Outcome =>
    createdCommit(s, t, m.fid, e, node, m.name, open, { type: 'Rcreate', tag: t, qid: node.qid, iounit: s.iounit }, intent.removeOnClunk);
  if (perm & DM.DIR) {
    if (!e.node.mkdir) return s.fail(t, fsError('EOPNOTSUPP'));
    const r = await e.node.mkdir(m.name, mode);
    return r.ok ? made(r.value, { kind: 'dir', listing: undefined }) : s.fail(t, r.error);
  }
  if (dotu && perm & DM.SYMLINK) {
    if (!e.node.symlink) return s.fail(t, fsError('EOPNOTSUPP'));
    const r = await e.node.symlink(m.name, m.extension ?? '');
    return r.ok ? made(r.value, { kind: 'none' }) : s.fail(t, r.error);
  }
  if (dotu && perm & DM.LINK) {
    // The extension names the target by fid number (Linux appends a newline).
    const target = s.fids.get(Number.parseInt((m.extension ?? '').trim(), 10));
    if (!target) return s.fail(t, fsError('EBADF', 'link target fid unknown'));
    if (!e.node.link) return s.fail(t, fsError('EOPNOTSUPP'));
    const r = await e.node.link(m.name, target.node);
    if (!r.ok) return s.fail(t, r.error);
    const w = await e.node.walk(m.name);
    return w.ok ? made(w.value, { kind: 'none' }) : s.fail(t, w.error);
  }
  if (dotu && perm & (DM.DEVICE | DM.NAMEDPIPE | DM.SOCKET)) {
    if (!e.node.mknod) return s.fail(t, fsError('EOPNOTSUPP'));
    let type: number = S_IF.FIFO;
    let major = 0;
    let minor = 0;
    if (perm & DM.SOCKET) type = S_IF.SOCK;
    if (perm & DM.DEVICE) {
      const parts = /^([bc]) (\d+) (\d+)$/.exec((m.extension ?? '').trim());
      if (!parts) return s.fail(t, fsError('EINVAL', 'bad device extension'));
      type = parts[1] === 'b' ? S_IF.BLK : S_IF.CHR;
      major = Number(parts[2]);
      minor = Number(parts[3]);
    }
    const r = await e.node.mknod(m.name, type | mode, major, minor);
    return r.ok ? made(r.value, { kind: 'none' }) : s.fail(t, r.error);
  }
  if (!e.node.create) return s.fail(t, fsError('EOPNOTSUPP'));
  const r = await e.node.create(m.name, mode, intent);
  if (!r.ok) return s.fail(t, r.error);
  return made(r.value.node, { kind: 'file', file: r.value.file, read: intent.read, write: intent.write });
}

/** Tclunk: forgets the fid, closing what it held (and removing it if opened ORCLOSE). */
export async function clunk(s: RequestContext, m: Req<'Tclunk'>): Promise<Outcome> {
  const e = s.fids.delete(m.fid);
  if (!e) return s.fail(m.tag, fsError('EBADF', `unknown fid ${m.fid}`));
  await s.releaseEntry(e, true);
  return { reply: { type: 'Rclunk', tag: m.tag } };
}
