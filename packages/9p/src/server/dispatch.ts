// Which handler answers which request. The table is the protocol's message list, grouped the
// way requests/ is: attach, walk/open/create, read/write, directory reads, attributes, links
// and renames. Tversion and Tflush never get here: they belong to the session (session.ts).
import { fsError } from '../fs/filesystem';
import type { Message } from '../wire/types';
import type { Outcome, Pending, RequestContext } from './request';
import { attach, auth } from './requests/attach';
import { getattr, getlock, lock, setattr, stat, statfs, wstat, xattrcreate, xattrwalk } from './requests/attributes';
import { readdir } from './requests/directory-reads';
import { link, mkdir, mknod, readlink, remove, rename, renameat, symlink, unlinkat } from './requests/links';
import { fsync, read, write } from './requests/read-write';
import { clunk, create, lcreate, lopen, open, walk } from './requests/walk-open';

/** Answers one request (the session has checked its tag and will send or drop the outcome). */
export function handle(s: RequestContext, msg: Message, pending: Pending): Promise<Outcome> {
  switch (msg.type) {
    case 'Tauth':
      return auth(s, msg);
    case 'Tattach':
      return attach(s, msg);
    case 'Twalk':
      return walk(s, msg, pending);
    case 'Topen':
      return open(s, msg);
    case 'Tlopen':
      return lopen(s, msg);
    case 'Tcreate':
      return create(s, msg);
    case 'Tlcreate':
      return lcreate(s, msg);
    case 'Tread':
      return read(s, msg, pending);
    case 'Twrite':
      return write(s, msg, pending.signal);
    case 'Tfsync':
      return fsync(s, msg);
    case 'Tclunk':
      return clunk(s, msg);
    case 'Treaddir':
      return readdir(s, msg);
    case 'Tstat':
      return stat(s, msg);
    case 'Twstat':
      return wstat(s, msg);
    case 'Tgetattr':
      return getattr(s, msg);
    case 'Tsetattr':
      return setattr(s, msg);
    case 'Tstatfs':
      return statfs(s, msg);
    case 'Txattrwalk':
      return xattrwalk(s, msg);
    case 'Txattrcreate':
      return xattrcreate(s, msg);
    case 'Tlock':
      return lock(s, msg);
    case 'Tgetlock':
      return getlock(s, msg);
    case 'Treadlink':
      return readlink(s, msg);
    case 'Tsymlink':
      return symlink(s, msg);
    case 'Tmknod':
      return mknod(s, msg);
    case 'Tmkdir':
      return mkdir(s, msg);
    case 'Tlink':
      return link(s, msg);
    case 'Tremove':
      return remove(s, msg);
    case 'Trename':
      return rename(s, msg);
    case 'Trenameat':
      return renameat(s, msg);
    case 'Tunlinkat':
      return unlinkat(s, msg);
    default:
      return Promise.resolve(s.fail(msg.tag, fsError('ENOSYS', `${msg.type} is not supported`)));
  }
}
