// Tauth and Tattach: how a client gets its first fid. Tauth binds an authentication fid whose
// file the client talks to through the AuthHook; Tattach binds the root of the tree the back end
// chooses for (uname, aname), and, with an AuthHook, only on an authenticated afid.
import { fsError, type FsNode, type FsResult } from '../../fs/filesystem';
import { NOFID, NONUNAME, QT } from '../../wire/constants';
import type { Qid } from '../../wire/types';
import { closeQuietly, type Outcome, type Req, type RequestContext } from '../request';

/** Tauth: starts an authentication conversation on a new afid. */
export async function auth(s: RequestContext, m: Req<'Tauth'>): Promise<Outcome> {
  const hook = s.options.auth;
  // Linux and diod's clients read ENOENT as "no authentication required".
  if (!hook) return s.fail(m.tag, fsError('ENOENT', 'no authentication required'));
  if (s.fids.has(m.afid) || m.afid === NOFID) return s.fail(m.tag, fsError('EBADF', `fid ${m.afid} in use`));
  if (s.fids.full()) return s.fail(m.tag, fsError('EMFILE'));
  const nUname = m.nUname === undefined || m.nUname === NONUNAME ? undefined : m.nUname;
  const r = await hook.start({ uname: m.uname, aname: m.aname, nUname });
  if (!r.ok) return s.fail(m.tag, r.error);
  const qid: Qid = { type: QT.AUTH, version: 0, path: 0n };
  const state = r.value;
  const node = authNode(qid);
  return {
    reply: { type: 'Rauth', tag: m.tag, aqid: qid },
    commit: () => {
      if (s.fids.has(m.afid)) return s.errorReply(m.tag, fsError('EBADF'));
      s.fids.set(m.afid, {
        node, parents: [], name: '', qid, auth: state, removeOnClunk: false, uname: m.uname, nUname,
        open: { kind: 'file', file: state.file, read: true, write: true },
      });
      return undefined;
    },
    rollback: () => closeQuietly(state.file),
  };
}

/** Tattach: binds `fid` to the root of the back end's tree for this user and aname. */
export async function attach(s: RequestContext, m: Req<'Tattach'>): Promise<Outcome> {
  if (m.fid === NOFID) return s.fail(m.tag, fsError('EBADF', 'NOFID cannot name a fid'));
  if (s.fids.has(m.fid)) return s.fail(m.tag, fsError('EBADF', `fid ${m.fid} in use`));
  if (s.fids.full()) return s.fail(m.tag, fsError('EMFILE', 'too many fids'));
  if (s.options.auth) {
    const a = s.fids.get(m.afid);
    if (!a?.auth || !a.auth.authenticated()) return s.fail(m.tag, fsError('EACCES', 'not authenticated'));
  }
  const nUname = m.nUname === undefined || m.nUname === NONUNAME ? undefined : m.nUname;
  const r = await s.fs.attach({ uname: m.uname, aname: m.aname, nUname });
  if (!r.ok) return s.fail(m.tag, r.error);
  const node = r.value;
  return {
    reply: { type: 'Rattach', tag: m.tag, qid: node.qid },
    commit: () => {
      if (s.fids.has(m.fid)) return s.errorReply(m.tag, fsError('EBADF', `fid ${m.fid} in use`));
      if (s.fids.full()) return s.errorReply(m.tag, fsError('EMFILE', 'too many fids'));
      s.fids.set(m.fid, {
        node, parents: [], name: '', qid: node.qid, open: undefined, removeOnClunk: false, uname: m.uname, nUname,
      });
      return undefined;
    },
  };
}

/** The node behind an auth fid: it can only be read and written (through its open file). */
function authNode(qid: Qid): FsNode {
  const no = async (): Promise<FsResult<never>> => ({ ok: false, error: fsError('EINVAL', 'an auth fid is not a file') });
  return { qid, getattr: no, walk: no, open: no, readdir: no };
}
