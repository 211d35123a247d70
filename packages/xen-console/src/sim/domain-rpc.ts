import type { MessagePort } from 'node:worker_threads';
import { FlowError, type FlowErrorKind } from '@flow/core';

/**
 * The messages between a domain in a worker (`RemoteSimDomain`) and its bridge in the
 * hypervisor's thread. Pages travel as `SharedArrayBuffer`s (shared, not copied); events do not
 * travel here at all (they go through the domain's `EventArea`).
 */
export type DomainRequest =
  | { readonly id: number; readonly op: 'allocUnbound'; readonly remoteDomid: number }
  | { readonly id: number; readonly op: 'bindInterdomain'; readonly remoteDomid: number; readonly remotePort: number }
  | { readonly id: number; readonly op: 'closePort'; readonly port: number }
  | { readonly id: number; readonly op: 'grant'; readonly page: SharedArrayBuffer; readonly grantee: number; readonly writable: boolean }
  | { readonly id: number; readonly op: 'revoke'; readonly ref: number }
  | { readonly id: number; readonly op: 'map'; readonly granter: number; readonly ref: number; readonly writable: boolean }
  | { readonly id: number; readonly op: 'unmap'; readonly mapping: number }
  | { readonly id: number; readonly op: 'sync' }
  | { readonly id: number; readonly op: 'release' };

/** A `FlowError` as plain data, to cross a thread boundary. */
export interface SerializedError {
  /** The error's kind. */
  readonly kind: FlowErrorKind;
  /** The error's message. */
  readonly message: string;
  /** The error's code, if it had one. */
  readonly code?: string;
  /** The error's errno, if it had one. */
  readonly errno?: number;
  /** The error's syscall, if it had one. */
  readonly syscall?: string;
}

export type DomainReplyValue = number | { readonly mapping: number; readonly page: SharedArrayBuffer } | null;

export type DomainReply =
  | { readonly id: number; readonly ok: true; readonly value: DomainReplyValue }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

/** What a worker needs to act as a domain: post it with `transferList: [descriptor.port]`. */
export interface SimDomainDescriptor {
  /** The domain's id. */
  readonly domid: number;
  /** The domain's event area (pending and mask bits), shared with the hypervisor's thread. */
  readonly events: SharedArrayBuffer;
  /** The channel for hypercalls to the hypervisor's thread. */
  readonly port: MessagePort;
}

export function serializeError(error: FlowError): SerializedError {
  return { kind: error.kind, message: error.message, code: error.code, errno: error.errno, syscall: error.syscall };
}

export function deserializeError(error: SerializedError): FlowError {
  return new FlowError(error.kind, error.message, { code: error.code, errno: error.errno, syscall: error.syscall });
}

const MAX_ID = 0x7fffffff;

/** Validates a request from a worker: the worker runs a guest's code, so nothing is assumed. */
export function parseDomainRequest(data: unknown): DomainRequest | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Record<string, unknown>;
  const id = m.id;
  if (!isInt(id, 0, MAX_ID)) return undefined;
  switch (m.op) {
    case 'allocUnbound':
      return isDomid(m.remoteDomid) ? { id, op: 'allocUnbound', remoteDomid: m.remoteDomid } : undefined;
    case 'bindInterdomain':
      return isDomid(m.remoteDomid) && isInt(m.remotePort, 0, MAX_ID)
        ? { id, op: 'bindInterdomain', remoteDomid: m.remoteDomid, remotePort: m.remotePort }
        : undefined;
    case 'closePort':
      return isInt(m.port, 0, MAX_ID) ? { id, op: 'closePort', port: m.port } : undefined;
    case 'grant':
      return isSharedArrayBuffer(m.page) && isDomid(m.grantee) && typeof m.writable === 'boolean'
        ? { id, op: 'grant', page: m.page, grantee: m.grantee, writable: m.writable }
        : undefined;
    case 'revoke':
      return isInt(m.ref, 0, MAX_ID) ? { id, op: 'revoke', ref: m.ref } : undefined;
    case 'map':
      return isDomid(m.granter) && isInt(m.ref, 0, MAX_ID) && typeof m.writable === 'boolean'
        ? { id, op: 'map', granter: m.granter, ref: m.ref, writable: m.writable }
        : undefined;
    case 'unmap':
      return isInt(m.mapping, 0, MAX_ID) ? { id, op: 'unmap', mapping: m.mapping } : undefined;
    case 'sync':
      return { id, op: 'sync' };
    case 'release':
      return { id, op: 'release' };
    default:
      return undefined;
  }
}

/**
 * Not `instanceof`: a message is deserialized in the thread's main realm, which is not the realm
 * of code running in a vm context (a test runner's sandbox, for one).
 */
function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return Object.prototype.toString.call(value) === '[object SharedArrayBuffer]';
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isDomid(value: unknown): value is number {
  return isInt(value, 0, 0x7fef);
}
