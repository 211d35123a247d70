import { FlowError, type FlowErrorKind } from '@flow/core';
import { errnoName, errnoOfMessage } from '../fs/filesystem';

const KINDS: Record<string, FlowErrorKind> = {
  ENOENT: 'not-found',
  EACCES: 'permission',
  EPERM: 'permission',
  EROFS: 'permission',
  EEXIST: 'in-use',
  EBUSY: 'in-use',
  ENOTEMPTY: 'in-use',
  EINVAL: 'invalid',
  ENAMETOOLONG: 'invalid',
  ENOSYS: 'unsupported',
  EOPNOTSUPP: 'unsupported',
  EMFILE: 'limit',
  ENFILE: 'limit',
  EMSGSIZE: 'limit',
  EPROTO: 'protocol',
  ECONNRESET: 'reset',
  EPIPE: 'closed',
};

/** The FlowError of a 9P error reply; `code` is the errno name, e.g. `ENOENT`. */
export function remoteError(what: string, errno: number, ename?: string): FlowError {
  // 9P2000 carries no errno: recognise the standard strings (as Linux's client does).
  const n = errno || (ename ? errnoOfMessage(ename) : 0);
  const code = n ? errnoName(n) : 'EIO';
  const kind = KINDS[code] ?? 'io';
  const detail = ename && ename !== '' ? ename : code;
  return new FlowError(kind, `${what}: ${detail}`, { code });
}
