import { err, FlowError, ok, type FlowErrorKind, type Result } from '@flow/core';

/** The error names of xs_wire.h's `xsd_errors`, in its order, with Linux errno numbers. */
export const XS_ERRORS = {
  /** 22: invalid argument (a bad path, value or request). */
  EINVAL: 22,
  /** 13: permission denied. */
  EACCES: 13,
  /** 17: the node exists. */
  EEXIST: 17,
  /** 21: is a directory. */
  EISDIR: 21,
  /** 2: no such node. */
  ENOENT: 2,
  /** 12: out of memory. */
  ENOMEM: 12,
  /** 28: no space (a quota was hit). */
  ENOSPC: 28,
  /** 5: input/output error. */
  EIO: 5,
  /** 39: the directory is not empty. */
  ENOTEMPTY: 39,
  /** 38: the request type is not implemented. */
  ENOSYS: 38,
  /** 30: read-only. */
  EROFS: 30,
  /** 16: busy. */
  EBUSY: 16,
  /** 11: try again: a transaction conflicted and must be re-run. */
  EAGAIN: 11,
  /** 106: already connected (a domain introduced twice). */
  EISCONN: 106,
  /** 7: too big (a value, path or list over its limit). */
  E2BIG: 7,
  /** 1: operation not permitted. */
  EPERM: 1,
} as const;

/** Names oxenstored sends that xs_wire.h does not list. */
export const XS_EXTRA_ERRORS = {
  /** 122: a quota was exceeded. */
  EQUOTA: 122,
  /** 95: not supported. */
  ENOTSUP: 95,
} as const;

/** An error name xenstored may send. */
export type XsErrorCode = keyof typeof XS_ERRORS | keyof typeof XS_EXTRA_ERRORS;

const KINDS: Partial<Record<string, FlowErrorKind>> = {
  ENOENT: 'not-found',
  EACCES: 'permission',
  EPERM: 'permission',
  EEXIST: 'in-use',
  EISCONN: 'in-use',
  E2BIG: 'limit',
  ENOSPC: 'limit',
  EQUOTA: 'limit',
  ENOMEM: 'limit',
  EINVAL: 'invalid',
  ENOSYS: 'unsupported',
  ENOTSUP: 'unsupported',
};

const MEANINGS: Partial<Record<string, string>> = {
  ENOENT: 'no such node',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  E2BIG: 'too big or too many',
  ENOSPC: 'quota exceeded',
  EQUOTA: 'quota exceeded',
  ENOMEM: 'out of memory',
  EINVAL: 'invalid argument',
  EAGAIN: 'transaction conflict: another writer changed what it used; retry it',
  EBUSY: 'busy',
  ENOSYS: 'not implemented by this xenstored',
  ENOTSUP: 'not supported by this xenstored',
  EIO: 'I/O error in xenstored',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'not empty',
  EROFS: 'read-only',
  EISCONN: 'already connected',
};

/** The FlowError kind of a xenstore error name; `io` for EAGAIN, EIO, EBUSY and unknown names. */
export function xsErrorKind(code: string): FlowErrorKind {
  return KINDS[code] ?? 'io';
}

function errnoOf(code: string): number | undefined {
  return (XS_ERRORS as Record<string, number>)[code] ?? (XS_EXTRA_ERRORS as Record<string, number>)[code];
}

/** A FlowError for error name `code` returned by `context` (e.g. `READ /local/domain/1`). */
export function xsError(code: string, context: string): FlowError {
  const meaning = MEANINGS[code];
  const message = `xenstore ${context}: ${code}${meaning ? ` (${meaning})` : ''}`;
  return new FlowError(xsErrorKind(code), message, { code, errno: errnoOf(code) });
}

const ERROR_NAME = /^E[A-Z0-9]{1,15}$/;

/** The error name in an ERROR payload (`E<name>` and a NUL); a `protocol` error if malformed. */
export function parseErrorPayload(payload: Buffer): Result<string, FlowError> {
  const end = payload.indexOf(0);
  const text = payload.subarray(0, end < 0 ? payload.length : end).toString('latin1');
  if (!ERROR_NAME.test(text) || (end >= 0 && end !== payload.length - 1)) {
    return err(new FlowError('protocol', `malformed xenstore ERROR payload ${JSON.stringify(text.slice(0, 40))}`));
  }
  return ok(text);
}

/** The payload of an ERROR reply. */
export function encodeErrorPayload(code: string): Buffer {
  if (!ERROR_NAME.test(code)) throw new RangeError(`not a xenstore error name: ${code}`);
  return Buffer.from(`${code}\0`, 'latin1');
}
