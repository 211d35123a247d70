import { err, FlowError, ok, OK, type Result } from '@flow/core';
import type { XsOps, XsPerm } from './client-types';
import { checkPath } from './path';
import type { XsReply, XsRequest } from './payload';
import { checkPerms } from './perms';

/** What the operations need from a connection: sending one request in a transaction (0: none). */
export interface RequestSender {
  /**
   * Sends `req` inside transaction `txId` (0: none) and resolves with its reply. An ERROR reply
   * becomes a `FlowError` whose `code` is xenstore's error name (`ENOENT`, `EACCES`, ...).
   */
  request(req: XsRequest, txId: number): Promise<Result<XsReply, FlowError>>;
  /** Whether relative paths may be sent (domain connections only). */
  readonly allowRelativePaths: boolean;
}

function unexpected(reply: XsReply): Result<never, FlowError> {
  return err(new FlowError('protocol', `unexpected xenstore ${reply.type} reply`));
}

/**
 * The XsOps of a connection (`txId` 0) or of one transaction. `gate` returns an error while
 * the operations may not be used (a transaction that has ended). Bad arguments (a value that is
 * not text or bytes, an empty permission list) throw at the call; a malformed path is an
 * `invalid` error value, since paths often come from peers.
 */
export function createOps(sender: RequestSender, txId: number, gate?: () => FlowError | undefined): XsOps {
  const allowRelative = sender.allowRelativePaths;
  const send = <T>(req: XsRequest, allowSpecial: boolean, map: (reply: XsReply) => Result<T, FlowError>): Promise<Result<T, FlowError>> => {
    const checked = checkPath(req.type === 'TRANSACTION_START' ? '/' : (req as { path: string }).path, { allowRelative, allowSpecial });
    if (!checked.ok) return Promise.resolve(checked);
    const closed = gate?.();
    if (closed) return Promise.resolve(err(closed));
    return sender.request(req, txId).then((r) => (r.ok ? map(r.value) : r));
  };
  const done = (): Result<void, FlowError> => OK;

  return {
    read: (path) =>
      send({ type: 'READ', path }, false, (reply) => (reply.type === 'READ' ? ok(reply.value.toString('utf8')) : unexpected(reply))),
    write: (path, value) => {
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new TypeError('a xenstore value must be a string or bytes');
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
      return send({ type: 'WRITE', path, value: bytes }, false, done);
    },
    mkdir: (path) => send({ type: 'MKDIR', path }, false, done),
    rm: (path) => send({ type: 'RM', path }, false, done),
    directory: (path) =>
      send({ type: 'DIRECTORY', path }, false, (reply) => (reply.type === 'DIRECTORY' ? ok([...reply.children]) : unexpected(reply))),
    getPerms: (path) =>
      send({ type: 'GET_PERMS', path }, true, (reply) => (reply.type === 'GET_PERMS' ? ok([...reply.perms]) : unexpected(reply))),
    setPerms: (path, perms: readonly XsPerm[]) => {
      checkPerms(perms);
      return send({ type: 'SET_PERMS', path, perms: perms.map((p) => ({ access: p.access, domid: p.domid })) }, true, done);
    },
  };
}
