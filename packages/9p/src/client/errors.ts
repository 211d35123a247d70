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

/**
 * The FlowError of a 9P error reply; `code` is the errno name, e.g. `ENOENT`, and `syscall` the
 * request the server refused, e.g. `Tremove`.
 */
export function remoteError(what: string, errno: number, ename?: string): FlowError {
  // 9P2000 carries no errno: recognise the standard strings (as Linux's client does).
  const n = errno || (ename ? errnoOfMessage(ename) : 0);
  const code = n ? errnoName(n) : 'EIO';
  const kind = KINDS[code] ?? 'io';
  const detail = ename && ename !== '' ? ename : code;
  return new FlowError(kind, `${what}: ${detail}`, { code, syscall: what });
}

/**
 * The error for a reply larger than msize: fatal, and usually the sign of a peer that does not
 * speak 9P at all (an HTTP server answers with text whose first four bytes read as a huge size),
 * so the message shows what the peer sent.
 */
export function oversizeReplyError(size: number, msize: number, head: Uint8Array): FlowError {
  const printable = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const text = Array.from(head).every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  const hint = text ? `not a 9P server? it sent text: ${JSON.stringify(printable)}` : `it began with ${Buffer.from(head).toString('hex')}`;
  return new FlowError('protocol', `the server sent a reply of ${size} bytes, more than msize ${msize} allows: ${hint}`, { code: 'EPROTO' });
}
