import type { XsPerm } from '../../xenstore/client-types';
import type { XsErrorCode } from '../../xenstore/errors';
import type { XsFrame } from '../../xenstore/frame';
import { XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX } from '../../xenstore/limits';
import { checkPath, isSpecialPath, type SpecialPath } from '../../xenstore/path';
import { decodeRequestPayload, encodeReplyPayload, replyTypeCode, type XsReply, type XsRequest } from '../../xenstore/payload';
import type { Caller } from './access';
import type { SimConnection } from './connection';
import { QUOTA_NAMES, type XenstoredQuota } from './quota';
import type { SimStore } from './store';
import type { FireEvent, StoreOp } from './store-ops';
import type { SimTransaction } from './transaction';
import { watchKey } from './watches';

/** What request handling needs from the server. */
export interface HandlerHost {
  readonly store: SimStore;
  callerFor(conn: SimConnection): Caller;
  quotaFor(domid: number): XenstoredQuota;
  /** Quota `field` of `domid` (undefined: the global default), 0 meaning "no limit". */
  getQuota(domid: number | undefined, field: keyof XenstoredQuota): number;
  setQuota(domid: number | undefined, field: keyof XenstoredQuota, value: number): void;
  fire(fires: readonly FireEvent[]): void;
  readonly specialPerms: Map<SpecialPath, readonly XsPerm[]>;
  nextTransactionId(): number;
  introduceDomain(domid: number): void;
  releaseDomain(domid: number): void;
  isIntroduced(domid: number): boolean;
  setTarget(domid: number, target: number): void;
}

type Outcome = XsReply | XsErrorCode;

function isError(o: Outcome): o is XsErrorCode {
  return typeof o === 'string';
}

/** The absolute form of a path sent by `conn`, or undefined if xenstored would refuse it. */
function canonical(conn: SimConnection, path: string, allowSpecial = false): string | undefined {
  if (!checkPath(path, { allowRelative: conn.kind === 'domain', allowSpecial }).ok) return undefined;
  if (isSpecialPath(path) || path.startsWith('/')) return path;
  const full = `${conn.home}/${path}`;
  return full.length <= XENSTORE_ABS_PATH_MAX ? full : undefined;
}

const PRIVILEGED_ONLY = new Set<XsRequest['type']>([
  'INTRODUCE',
  'RELEASE',
  'RESUME',
  'IS_DOMAIN_INTRODUCED',
  'SET_TARGET',
  'SET_FEATURE',
  'GET_QUOTA',
  'SET_QUOTA',
  'CONTROL',
]);

/**
 * Handles one request of `conn` and queues its reply (and, for WATCH, the first event). A
 * request xenstored would refuse gets the ERROR it would send; nothing here throws for peer input.
 */
export function handleRequest(host: HandlerHost, conn: SimConnection, frame: XsFrame): void {
  const send = (reply: XsReply): void => {
    const payload = encodeReplyPayload(reply);
    // A reply that would not fit (a huge directory) is refused as xenstored does, with E2BIG.
    const fitting: XsReply = payload.length > XENSTORE_PAYLOAD_MAX ? { type: 'ERROR', code: 'E2BIG' } : reply;
    const bytes = fitting === reply ? payload : encodeReplyPayload(fitting);
    conn.sendReply({ type: replyTypeCode(fitting), reqId: frame.reqId, txId: frame.txId, payload: bytes });
  };
  const decoded = decodeRequestPayload(frame.type, frame.payload);
  if (!decoded.ok) {
    send({ type: 'ERROR', code: 'EINVAL' });
    return;
  }
  const req = decoded.value;
  const outcome = run(host, conn, frame.txId, req);
  send(isError(outcome) ? { type: 'ERROR', code: outcome } : outcome);
  if (req.type === 'WATCH' && !isError(outcome)) {
    // "When a watch is first set up it is triggered once straight away, with <path> equal to <wpath>."
    conn.sendEvent(req.path, req.token);
  }
}

function run(host: HandlerHost, conn: SimConnection, txId: number, req: XsRequest): Outcome {
  const caller = host.callerFor(conn);
  const quota = host.quotaFor(conn.domid);
  if (PRIVILEGED_ONLY.has(req.type) && !caller.privileged) return 'EACCES';
  let tx: SimTransaction | undefined;
  if (txId !== 0 && req.type !== 'WATCH' && req.type !== 'UNWATCH') {
    tx = conn.transactions.get(txId);
    if (!tx) return 'ENOENT';
  }
  const author = { domid: conn.domid, connectionId: conn.id };
  const change = (op: StoreOp): Outcome => {
    const r = tx ? host.store.applyInTransaction(caller, quota, op, tx) : host.store.apply(caller, quota, op, author);
    if (!r.ok) return r.code;
    host.fire(r.fires);
    return { type: op.type };
  };

  switch (req.type) {
    case 'READ': {
      const path = canonical(conn, req.path);
      if (!path) return 'EINVAL';
      const r = host.store.read(caller, quota, path, tx);
      return r.ok ? { type: 'READ', value: r.value } : r.code;
    }
    case 'DIRECTORY': {
      const path = canonical(conn, req.path);
      if (!path) return 'EINVAL';
      const r = host.store.directory(caller, quota, path, tx);
      return r.ok ? { type: 'DIRECTORY', children: r.value.children } : r.code;
    }
    case 'DIRECTORY_PART': {
      const path = canonical(conn, req.path);
      if (!path) return 'EINVAL';
      const r = host.store.directory(caller, quota, path, tx);
      if (!r.ok) return r.code;
      return directoryPart(String(r.value.stamp), r.value.children, req.offset);
    }
    case 'GET_PERMS': {
      const path = canonical(conn, req.path, true);
      if (!path) return 'EINVAL';
      if (isSpecialPath(path)) return { type: 'GET_PERMS', perms: host.specialPerms.get(path) ?? [] };
      const r = host.store.getPerms(caller, quota, path, tx);
      return r.ok ? { type: 'GET_PERMS', perms: r.value } : r.code;
    }
    case 'WRITE':
    case 'MKDIR':
    case 'RM': {
      const path = canonical(conn, req.path);
      if (!path) return 'EINVAL';
      return change(req.type === 'WRITE' ? { type: 'WRITE', path, value: req.value } : { type: req.type, path });
    }
    case 'SET_PERMS': {
      const path = canonical(conn, req.path, true);
      if (!path) return 'EINVAL';
      if (isSpecialPath(path)) {
        if (!caller.privileged) return 'EACCES';
        host.specialPerms.set(path, req.perms.map((p) => ({ ...p })));
        return { type: 'SET_PERMS' };
      }
      return change({ type: 'SET_PERMS', path, perms: req.perms });
    }
    case 'WATCH': {
      const path = canonical(conn, req.path, true);
      if (!path) return 'EINVAL';
      const key = watchKey(path, req.token);
      if (conn.watches.has(key)) return 'EEXIST';
      if (!caller.privileged && conn.watches.size >= quota.watches) return 'E2BIG';
      const relative = !isSpecialPath(req.path) && !req.path.startsWith('/');
      conn.watches.set(key, { path, token: req.token, relativeTo: relative ? conn.home : undefined, depth: req.depth });
      return { type: 'WATCH' };
    }
    case 'UNWATCH': {
      const path = canonical(conn, req.path, true);
      if (!path) return 'EINVAL';
      return conn.watches.delete(watchKey(path, req.token)) ? { type: 'UNWATCH' } : 'ENOENT';
    }
    case 'TRANSACTION_START': {
      if (tx) return 'EBUSY';
      if (!caller.privileged && conn.transactions.size >= quota.transactions) return 'ENOSPC';
      const id = host.nextTransactionId();
      conn.transactions.set(id, host.store.begin(id));
      return { type: 'TRANSACTION_START', txId: id };
    }
    case 'TRANSACTION_END': {
      if (!tx) return 'ENOENT';
      conn.transactions.delete(tx.id);
      if (!req.commit) return { type: 'TRANSACTION_END' };
      const r = host.store.commitTransaction(caller, quota, tx, author);
      if (!r.ok) return r.code;
      host.fire(r.fires);
      return { type: 'TRANSACTION_END' };
    }
    case 'RESET_WATCHES':
      conn.watches.clear();
      conn.transactions.clear();
      return { type: 'RESET_WATCHES' };
    case 'GET_DOMAIN_PATH':
      return { type: 'GET_DOMAIN_PATH', path: `/local/domain/${req.domid}` };
    case 'INTRODUCE':
      if (req.domid === 0) return 'EINVAL';
      host.introduceDomain(req.domid);
      return { type: 'INTRODUCE' };
    case 'RELEASE':
      if (req.domid === 0) return 'EINVAL';
      host.releaseDomain(req.domid);
      return { type: 'RELEASE' };
    case 'RESUME':
      return host.isIntroduced(req.domid) ? { type: 'RESUME' } : 'ENOENT';
    case 'IS_DOMAIN_INTRODUCED':
      return { type: 'IS_DOMAIN_INTRODUCED', introduced: req.domid === 0 || host.isIntroduced(req.domid) };
    case 'SET_TARGET':
      host.setTarget(req.domid, req.target);
      return { type: 'SET_TARGET' };
    case 'GET_FEATURE':
      // No optional features (xenstore-ring.txt's feature bits) are simulated.
      if (req.domid !== undefined && !caller.privileged) return 'EACCES';
      return { type: 'GET_FEATURE', value: 0 };
    case 'SET_FEATURE':
      return req.value === 0 ? { type: 'SET_FEATURE' } : 'EINVAL';
    case 'GET_QUOTA': {
      if (req.quota === undefined) return { type: 'GET_QUOTA', text: Object.keys(QUOTA_NAMES).join(' ') };
      const field = QUOTA_NAMES[req.quota];
      if (!field) return 'EINVAL';
      return { type: 'GET_QUOTA', text: String(host.getQuota(req.domid, field)) };
    }
    case 'SET_QUOTA': {
      const field = QUOTA_NAMES[req.quota];
      if (!field) return 'EINVAL';
      host.setQuota(req.domid, field, req.value);
      return { type: 'SET_QUOTA' };
    }
    case 'CONTROL': {
      const command = req.args[0];
      if (command === 'print') return { type: 'CONTROL', text: Buffer.from('OK\0') };
      if (command === 'help') return { type: 'CONTROL', text: Buffer.from('print\nhelp\n\0') };
      return 'EINVAL';
    }
  }
}

/** DIRECTORY_PART: the children from byte `offset` of the NUL-separated list, as many as fit. */
function directoryPart(generation: string, children: readonly string[], offset: number): Outcome {
  const list = Buffer.concat(children.map((c) => Buffer.from(`${c}\0`, 'latin1')));
  if (offset > list.length) return 'EINVAL';
  const room = XENSTORE_PAYLOAD_MAX - (generation.length + 1) - 1;
  let end = offset;
  const names: string[] = [];
  for (let at = offset; at < list.length; ) {
    const nul = list.indexOf(0, at);
    if (nul - offset + 1 > room) break;
    names.push(list.subarray(at, nul).toString('latin1'));
    at = nul + 1;
    end = at;
  }
  return { type: 'DIRECTORY_PART', generation, children: names, complete: end === list.length };
}
