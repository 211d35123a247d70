import { err, FlowError, ok, type Result } from '@flow/core';
import type { XsPerm } from './client-types';
import { encodeErrorPayload, parseErrorPayload } from './errors';
import { XsType, xsTypeName, type XsTypeName } from './message-types';
import { formatPerm, parsePerm } from './perms';

/**
 * Payload encoders and decoders for every message type (docs/misc/xenstore.txt; `|` there is a
 * NUL here). Strings other than values are taken byte for byte (latin1), so a token or a path
 * round-trips exactly; values are raw bytes and may hold NULs.
 */

/** A request, by type. */
export type XsRequest =
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'READ' | 'DIRECTORY' | 'GET_PERMS' | 'MKDIR' | 'RM';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'WRITE';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
      /** The bytes to store. */
      readonly value: Buffer;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'SET_PERMS';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
      /** The new permissions, the owner first. */
      readonly perms: readonly XsPerm[];
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'WATCH';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
      /** The watch's token, echoed in its events. */
      readonly token: string;
      /** How many levels below `path` are watched; absent: all (newer xenstored only). */
      readonly depth?: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'UNWATCH';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
      /** The watch's token, echoed in its events. */
      readonly token: string;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'TRANSACTION_START' | 'RESET_WATCHES';
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'TRANSACTION_END';
      /** True to commit the transaction, false to discard it. */
      readonly commit: boolean;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'INTRODUCE';
      /** The domain the request is about. */
      readonly domid: number;
      /** The machine frame of the domain's xenstore ring page, in decimal. */
      readonly mfn: string;
      /** The event-channel port of the domain's xenstore ring. */
      readonly port: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'RELEASE' | 'RESUME' | 'GET_DOMAIN_PATH' | 'IS_DOMAIN_INTRODUCED';
      /** The domain the request is about. */
      readonly domid: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'SET_TARGET';
      /** The domain the request is about. */
      readonly domid: number;
      /** The domain that `domid` may act for. */
      readonly target: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'DIRECTORY_PART';
      /** The node's path: absolute, or relative to the domain's home where the connection allows it. */
      readonly path: string;
      /** Where in the child list to continue, in bytes. */
      readonly offset: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'GET_FEATURE';
      /** The domain the request is about. */
      readonly domid?: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'SET_FEATURE';
      /** The domain the request is about. */
      readonly domid: number;
      /** The feature bits to set. */
      readonly value: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'GET_QUOTA';
      /** The domain the request is about. */
      readonly domid?: number;
      /** The quota's name; absent: all quotas. */
      readonly quota?: string;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'SET_QUOTA';
      /** The domain the request is about. */
      readonly domid?: number;
      /** The quota's name. */
      readonly quota: string;
      /** The quota's new value. */
      readonly value: number;
    }
  | {
      /** The request: xenstore's `XS_<type>` message. */
      readonly type: 'CONTROL';
      /** The command and its arguments, as for `xenstore-control`. */
      readonly args: readonly string[];
    };

/** The name of a request type, e.g. `READ`. */
export type XsRequestType = XsRequest['type'];

/** Requests whose success reply is `OK`. */
export type XsAckType =
  | 'WRITE'
  | 'MKDIR'
  | 'RM'
  | 'SET_PERMS'
  | 'WATCH'
  | 'UNWATCH'
  | 'TRANSACTION_END'
  | 'INTRODUCE'
  | 'RELEASE'
  | 'RESUME'
  | 'SET_TARGET'
  | 'RESET_WATCHES'
  | 'SET_FEATURE'
  | 'SET_QUOTA';

const ACK_TYPES: ReadonlySet<string> = new Set<XsAckType>([
  'WRITE',
  'MKDIR',
  'RM',
  'SET_PERMS',
  'WATCH',
  'UNWATCH',
  'TRANSACTION_END',
  'INTRODUCE',
  'RELEASE',
  'RESUME',
  'SET_TARGET',
  'RESET_WATCHES',
  'SET_FEATURE',
  'SET_QUOTA',
]);

/** True if the success reply of `type` is a bare `OK` (see {@link XsAckType}). */
export function isAckType(type: string): type is XsAckType {
  return ACK_TYPES.has(type);
}

/** A reply (or an unsolicited WATCH_EVENT), by type. */
export type XsReply =
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'READ';
      /** The node's value. */
      readonly value: Buffer;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'DIRECTORY';
      /** The names of the node's children. */
      readonly children: readonly string[];
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'GET_PERMS';
      /** The node's permissions, the owner first. */
      readonly perms: readonly XsPerm[];
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'TRANSACTION_START';
      /** The new transaction's id. */
      readonly txId: number;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'GET_DOMAIN_PATH';
      /** The domain's home, `/local/domain/<domid>`. */
      readonly path: string;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'IS_DOMAIN_INTRODUCED';
      /** Whether the domain is introduced to xenstored. */
      readonly introduced: boolean;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'DIRECTORY_PART';
      /** The node's generation count: a change between parts means the list changed meanwhile. */
      readonly generation: string;
      /** The names of the node's children. */
      readonly children: readonly string[];
      /** True when this part ends the list. */
      readonly complete: boolean;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'GET_FEATURE';
      /** The feature bits. */
      readonly value: number;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'GET_QUOTA';
      /** The answer as text. */
      readonly text: string;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'CONTROL';
      /** The answer as text. */
      readonly text: Buffer;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: XsAckType;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'ERROR';
      /** The xenstore error name, e.g. `ENOENT`. */
      readonly code: string;
    }
  | {
      /** The request this answers, `ERROR`, or `WATCH_EVENT`. */
      readonly type: 'WATCH_EVENT';
      /** The path that changed. */
      readonly path: string;
      /** The token of the watch that fired. */
      readonly token: string;
    };

const NUL = Buffer.from([0]);
const OK_PAYLOAD = Buffer.from('OK\0', 'latin1');

function str(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'latin1'), NUL]);
}

function strings(texts: readonly string[]): Buffer {
  return Buffer.concat(texts.map(str));
}

function bad(what: string): Result<never, FlowError> {
  return err(new FlowError('protocol', `malformed xenstore ${what} payload`, { code: 'EINVAL' }));
}

/**
 * The NUL-terminated strings of a payload. With `exact`, the payload must end with a NUL (every
 * string terminated); otherwise a trailing unterminated string is taken too.
 */
function splitStrings(payload: Buffer, exact: boolean): string[] | undefined {
  if (payload.length === 0) return [];
  const endsWithNul = payload[payload.length - 1] === 0;
  if (exact && !endsWithNul) return undefined;
  const body = endsWithNul ? payload.subarray(0, payload.length - 1) : payload;
  return body.toString('latin1').split('\0');
}

const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

/** A strict unsigned decimal up to `max`, or undefined. */
export function parseDecimal(text: string, max: number): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

const MAX_DOMID = 0xffff;
const MAX_U32 = 0xffffffff;

function checkString(name: string, text: string): void {
  if (typeof text !== 'string' || text.includes('\0')) throw new TypeError(`${name} must be a string without NUL`);
}

function checkInt(name: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${name} must be an integer 0..${max}`);
}

/** The payload of a request. Throws for arguments no request can carry (NULs in a path, bad ids). */
export function encodeRequestPayload(req: XsRequest): Buffer {
  switch (req.type) {
    case 'READ':
    case 'DIRECTORY':
    case 'GET_PERMS':
    case 'MKDIR':
    case 'RM':
      checkString('path', req.path);
      return str(req.path);
    case 'WRITE':
      checkString('path', req.path);
      return Buffer.concat([str(req.path), req.value]);
    case 'SET_PERMS':
      checkString('path', req.path);
      return strings([req.path, ...req.perms.map(formatPerm)]);
    case 'WATCH':
      checkString('path', req.path);
      checkString('token', req.token);
      if (req.depth !== undefined) checkInt('depth', req.depth, MAX_U32);
      return strings(req.depth === undefined ? [req.path, req.token] : [req.path, req.token, String(req.depth)]);
    case 'UNWATCH':
      checkString('path', req.path);
      checkString('token', req.token);
      return strings([req.path, req.token]);
    case 'TRANSACTION_START':
    case 'RESET_WATCHES':
      return Buffer.from(NUL);
    case 'TRANSACTION_END':
      return str(req.commit ? 'T' : 'F');
    case 'INTRODUCE':
      checkInt('domid', req.domid, MAX_DOMID);
      checkInt('port', req.port, MAX_U32);
      if (!/^-?[0-9]{1,20}$/.test(req.mfn)) throw new TypeError('mfn must be a decimal string');
      return strings([String(req.domid), req.mfn, String(req.port)]);
    case 'RELEASE':
    case 'RESUME':
    case 'GET_DOMAIN_PATH':
    case 'IS_DOMAIN_INTRODUCED':
      checkInt('domid', req.domid, MAX_DOMID);
      return str(String(req.domid));
    case 'SET_TARGET':
      checkInt('domid', req.domid, MAX_DOMID);
      checkInt('target', req.target, MAX_DOMID);
      return strings([String(req.domid), String(req.target)]);
    case 'DIRECTORY_PART':
      checkString('path', req.path);
      checkInt('offset', req.offset, MAX_U32);
      return strings([req.path, String(req.offset)]);
    case 'GET_FEATURE':
      if (req.domid === undefined) return Buffer.alloc(0);
      checkInt('domid', req.domid, MAX_DOMID);
      return str(String(req.domid));
    case 'SET_FEATURE':
      checkInt('domid', req.domid, MAX_DOMID);
      checkInt('value', req.value, MAX_U32);
      return strings([String(req.domid), String(req.value)]);
    case 'GET_QUOTA': {
      if (req.quota === undefined) {
        if (req.domid !== undefined) throw new TypeError('GET_QUOTA with a domid needs a quota name');
        return Buffer.alloc(0);
      }
      checkString('quota', req.quota);
      if (req.domid === undefined) return str(req.quota);
      checkInt('domid', req.domid, MAX_DOMID);
      return strings([String(req.domid), req.quota]);
    }
    case 'SET_QUOTA': {
      checkString('quota', req.quota);
      checkInt('value', req.value, MAX_U32);
      const head = req.domid === undefined ? [] : [String(req.domid)];
      if (req.domid !== undefined) checkInt('domid', req.domid, MAX_DOMID);
      return strings([...head, req.quota, String(req.value)]);
    }
    case 'CONTROL':
      for (const a of req.args) checkString('control argument', a);
      return strings(req.args);
  }
}

/** The code of a request type. */
export function requestTypeCode(type: XsRequestType): number {
  return XsType[type];
}

function domidField(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDecimal(text, MAX_DOMID);
}

/**
 * A request from its type code and payload, as a server reads it: strict, since the sender may
 * be a hostile guest. Unknown codes, and ERROR / WATCH_EVENT (replies, not requests), are errors.
 */
export function decodeRequestPayload(typeCode: number, payload: Buffer): Result<XsRequest, FlowError> {
  const type = xsTypeName(typeCode);
  if (type === undefined || type === 'ERROR' || type === 'WATCH_EVENT' || type === 'INVALID') {
    return err(new FlowError('protocol', `not a xenstore request type: ${typeCode}`, { code: 'EINVAL' }));
  }
  switch (type) {
    case 'READ':
    case 'DIRECTORY':
    case 'GET_PERMS':
    case 'MKDIR':
    case 'RM': {
      const f = splitStrings(payload, true);
      if (!f || f.length !== 1) return bad(type);
      return ok({ type, path: f[0] });
    }
    case 'WRITE': {
      const cut = payload.indexOf(0);
      if (cut < 0) return bad(type);
      return ok({ type, path: payload.subarray(0, cut).toString('latin1'), value: Buffer.from(payload.subarray(cut + 1)) });
    }
    case 'SET_PERMS': {
      const f = splitStrings(payload, true);
      if (!f || f.length < 2) return bad(type);
      const perms: XsPerm[] = [];
      for (const text of f.slice(1)) {
        const p = parsePerm(text);
        if (!p.ok) return err(p.error);
        perms.push(p.value);
      }
      return ok({ type, path: f[0], perms });
    }
    case 'WATCH':
    case 'UNWATCH': {
      const f = splitStrings(payload, true);
      if (!f || f.length < 2 || f.length > 3) return bad(type);
      if (type === 'UNWATCH' || f.length === 2 || f[2] === '') return ok({ type, path: f[0], token: f[1] });
      const depth = parseDecimal(f[2], MAX_U32);
      if (depth === undefined) return bad(type);
      return ok({ type, path: f[0], token: f[1], depth });
    }
    case 'TRANSACTION_START':
    case 'RESET_WATCHES': {
      const f = splitStrings(payload, false);
      if (!f || f.length > 1 || (f.length === 1 && f[0] !== '')) return bad(type);
      return ok({ type });
    }
    case 'TRANSACTION_END': {
      const f = splitStrings(payload, true);
      if (!f || f.length !== 1 || (f[0] !== 'T' && f[0] !== 'F')) return bad(type);
      return ok({ type, commit: f[0] === 'T' });
    }
    case 'INTRODUCE': {
      const f = splitStrings(payload, true);
      if (!f || f.length < 3) return bad(type);
      const domid = domidField(f[0]);
      const port = parseDecimal(f[2], MAX_U32);
      if (domid === undefined || port === undefined || !/^-?[0-9]{1,20}$/.test(f[1])) return bad(type);
      return ok({ type, domid, mfn: f[1], port });
    }
    case 'RELEASE':
    case 'RESUME':
    case 'GET_DOMAIN_PATH':
    case 'IS_DOMAIN_INTRODUCED': {
      const f = splitStrings(payload, true);
      const domid = f && f.length === 1 ? domidField(f[0]) : undefined;
      if (domid === undefined) return bad(type);
      return ok({ type, domid });
    }
    case 'SET_TARGET': {
      const f = splitStrings(payload, true);
      const domid = f && f.length === 2 ? domidField(f[0]) : undefined;
      const target = f && f.length === 2 ? domidField(f[1]) : undefined;
      if (domid === undefined || target === undefined) return bad(type);
      return ok({ type, domid, target });
    }
    case 'DIRECTORY_PART': {
      const f = splitStrings(payload, false);
      const offset = f && f.length === 2 ? parseDecimal(f[1], MAX_U32) : undefined;
      if (!f || offset === undefined) return bad(type);
      return ok({ type, path: f[0], offset });
    }
    case 'GET_FEATURE': {
      const f = splitStrings(payload, false);
      if (!f || f.length > 1) return bad(type);
      if (f.length === 0 || f[0] === '') return ok({ type });
      const domid = domidField(f[0]);
      if (domid === undefined) return bad(type);
      return ok({ type, domid });
    }
    case 'SET_FEATURE': {
      const f = splitStrings(payload, true);
      const domid = f && f.length === 2 ? domidField(f[0]) : undefined;
      const value = f && f.length === 2 ? parseDecimal(f[1], MAX_U32) : undefined;
      if (domid === undefined || value === undefined) return bad(type);
      return ok({ type, domid, value });
    }
    case 'GET_QUOTA': {
      const f = splitStrings(payload, false);
      if (!f || f.length > 2) return bad(type);
      if (f.length === 0 || (f.length === 1 && f[0] === '')) return ok({ type });
      if (f.length === 1) return ok({ type, quota: f[0] });
      const domid = domidField(f[0]);
      if (domid === undefined) return bad(type);
      return ok({ type, domid, quota: f[1] });
    }
    case 'SET_QUOTA': {
      const f = splitStrings(payload, true);
      if (!f || f.length < 2 || f.length > 3) return bad(type);
      const value = parseDecimal(f[f.length - 1], MAX_U32);
      const domid = f.length === 3 ? domidField(f[0]) : undefined;
      if (value === undefined || (f.length === 3 && domid === undefined)) return bad(type);
      return ok({ type, domid, quota: f[f.length - 2], value });
    }
    case 'CONTROL': {
      const f = splitStrings(payload, false);
      if (!f) return bad(type);
      return ok({ type, args: f });
    }
  }
}

/** The payload of a reply (for a server). */
export function encodeReplyPayload(reply: XsReply): Buffer {
  switch (reply.type) {
    case 'READ':
      return Buffer.from(reply.value);
    case 'DIRECTORY':
      return strings(reply.children);
    case 'GET_PERMS':
      return strings(reply.perms.map(formatPerm));
    case 'TRANSACTION_START':
      return str(String(reply.txId));
    case 'GET_DOMAIN_PATH':
      return str(reply.path);
    case 'IS_DOMAIN_INTRODUCED':
      return str(reply.introduced ? 'T' : 'F');
    case 'DIRECTORY_PART':
      return Buffer.concat([strings([reply.generation, ...reply.children]), reply.complete ? NUL : Buffer.alloc(0)]);
    case 'GET_FEATURE':
      return str(String(reply.value));
    case 'GET_QUOTA':
      return str(reply.text);
    case 'CONTROL':
      return Buffer.from(reply.text);
    case 'ERROR':
      return encodeErrorPayload(reply.code);
    case 'WATCH_EVENT':
      return strings([reply.path, reply.token]);
    default:
      return Buffer.from(OK_PAYLOAD);
  }
}

/** The type code a reply travels with. */
export function replyTypeCode(reply: XsReply): number {
  return XsType[reply.type];
}

/**
 * A reply from its type code and payload, as a client reads it. Strict: a server is a peer
 * too, and a malformed reply is a `protocol` error, never a crash.
 */
export function decodeReplyPayload(typeCode: number, payload: Buffer): Result<XsReply, FlowError> {
  const type: XsTypeName | undefined = xsTypeName(typeCode);
  if (type === undefined || type === 'INVALID') {
    return err(new FlowError('protocol', `unknown xenstore reply type ${typeCode}`));
  }
  if (type === 'ERROR') {
    const code = parseErrorPayload(payload);
    return code.ok ? ok({ type, code: code.value }) : code;
  }
  if (isAckType(type)) {
    const text = payload.toString('latin1');
    return text === 'OK\0' || text === 'OK' ? ok({ type }) : bad(`${type} reply`);
  }
  switch (type) {
    case 'READ':
      return ok({ type, value: payload });
    case 'CONTROL':
      return ok({ type, text: payload });
    case 'DIRECTORY': {
      const f = splitStrings(payload, true);
      if (!f || f.some((c) => c === '')) return bad('DIRECTORY reply');
      return ok({ type, children: f });
    }
    case 'GET_PERMS': {
      const f = splitStrings(payload, true);
      if (!f || f.length === 0) return bad('GET_PERMS reply');
      const perms: XsPerm[] = [];
      for (const text of f) {
        const p = parsePerm(text);
        if (!p.ok) return bad('GET_PERMS reply');
        perms.push(p.value);
      }
      return ok({ type, perms });
    }
    case 'TRANSACTION_START': {
      const f = splitStrings(payload, false);
      const txId = f && f.length === 1 ? parseDecimal(f[0], MAX_U32) : undefined;
      if (txId === undefined || txId === 0) return bad('TRANSACTION_START reply');
      return ok({ type, txId });
    }
    case 'GET_DOMAIN_PATH': {
      const f = splitStrings(payload, false);
      if (!f || f.length !== 1 || f[0] === '') return bad('GET_DOMAIN_PATH reply');
      return ok({ type, path: f[0] });
    }
    case 'IS_DOMAIN_INTRODUCED': {
      const f = splitStrings(payload, false);
      if (!f || f.length !== 1 || (f[0] !== 'T' && f[0] !== 'F')) return bad('IS_DOMAIN_INTRODUCED reply');
      return ok({ type, introduced: f[0] === 'T' });
    }
    case 'DIRECTORY_PART': {
      // <gencnt>|<child>|* and, on the last part, one more NUL (an empty string).
      const complete = payload.length >= 2 && payload[payload.length - 1] === 0 && payload[payload.length - 2] === 0;
      const f = splitStrings(complete ? payload.subarray(0, payload.length - 1) : payload, true);
      if (!f || f.length === 0) return bad('DIRECTORY_PART reply');
      return ok({ type, generation: f[0], children: f.slice(1), complete });
    }
    case 'GET_FEATURE': {
      const f = splitStrings(payload, false);
      const value = f && f.length === 1 ? parseDecimal(f[0], MAX_U32) : undefined;
      if (value === undefined) return bad('GET_FEATURE reply');
      return ok({ type, value });
    }
    case 'GET_QUOTA': {
      const f = splitStrings(payload, false);
      if (!f || f.length !== 1) return bad('GET_QUOTA reply');
      return ok({ type, text: f[0] });
    }
    case 'WATCH_EVENT': {
      const f = splitStrings(payload, false);
      if (!f || f.length !== 2 || f[0] === '') return bad('WATCH_EVENT');
      return ok({ type, path: f[0], token: f[1] });
    }
    default:
      return err(new FlowError('protocol', `xenstore ${type} is a request, not a reply`));
  }
}
