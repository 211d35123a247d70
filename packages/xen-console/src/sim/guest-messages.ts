import type { SerializedError } from './domain-rpc';
import type { ExportedSimPlatform } from './sim-xen';

/**
 * What a simulated guest does with its console once it is connected.
 * - `echo`: writes back every chunk it reads, until its input ends.
 * - `source`: writes `bytes` pseudo-random bytes (a xorshift stream from `seed`), in writes of
 *   `chunkSize`; its report carries their SHA-256.
 * - `sink`: reads `bytes` bytes; its report carries their SHA-256.
 * - `line-echo`: a program on a cooked tty (ICANON, ECHO, ICRNL, ONLCR): every input byte is
 *   echoed as it arrives, erase works, and each completed line is written back once more, as
 *   `cat` on a Linux console does.
 */
export type GuestBehaviour =
  | {
      /** Echo every chunk read. */
      readonly kind: 'echo';
    }
  | {
      /** Write pseudo-random bytes. */
      readonly kind: 'source';
      /** How many bytes to write. */
      readonly bytes: number;
      /** The xorshift seed; the same seed gives the same bytes. */
      readonly seed?: number;
      /** Bytes per write. */
      readonly chunkSize?: number;
    }
  | {
      /** Read and hash bytes. */
      readonly kind: 'sink';
      /** How many bytes to read before reporting `done`. */
      readonly bytes: number;
    }
  | {
      /** Behave like `cat` on a cooked Linux tty. */
      readonly kind: 'line-echo';
    };

/** The name of a {@link GuestBehaviour}. */
export type GuestBehaviourKind = GuestBehaviour['kind'];

/** Bytes moved one way and their SHA-256 (hex). */
export interface GuestTransfer {
  /** How many bytes. */
  readonly bytes: number;
  /** Their SHA-256, in lower-case hex. */
  readonly sha256: string;
}

/**
 * What a guest did, sent when its behaviour ends. Times are `process.hrtime.bigint()`
 * nanoseconds: the monotonic clock every thread of the process shares, so they compare with
 * times taken in the hypervisor's thread.
 */
export interface SimGuestReport {
  /** The behaviour that ran. */
  readonly behaviour: GuestBehaviourKind;
  /** `done` (source, sink), `eof` (the input ended), `stopped` (the guest was closed first), or the error. */
  readonly ended: 'done' | 'eof' | 'stopped' | SerializedError;
  /** What the guest read from its console (dom0's input) and wrote to it (its output). */
  readonly read: GuestTransfer;
  /** What the guest wrote to its console (its output). */
  readonly written: GuestTransfer;
  /** Events the frontend received and notifications it sent, when the report was made. */
  readonly events: number;
  /** Notifications the frontend sent, when the report was made. */
  readonly notifies: number;
  /** When the guest first read a byte (hrtime nanoseconds); absent if it read none. */
  readonly firstReadAt?: bigint;
  /** When the guest last read a byte (hrtime nanoseconds). */
  readonly lastReadAt?: bigint;
  /** When the guest's first write was accepted (hrtime nanoseconds); absent if it wrote none. */
  readonly firstWriteAt?: bigint;
  /** When the guest's last write was accepted (hrtime nanoseconds). */
  readonly lastWriteAt?: bigint;
}

/** The guest's counters at one moment. */
export interface SimGuestStatus {
  /** Events the frontend received. */
  readonly events: number;
  /** Notifications the frontend sent. */
  readonly notifies: number;
  /** Bytes the guest read from its console. */
  readonly bytesRead: number;
  /** Bytes the guest wrote to its console. */
  readonly bytesWritten: number;
}

/** What the runner hands the worker. */
export interface GuestWorkerData {
  readonly exported: ExportedSimPlatform;
  readonly devid: number;
  readonly behaviour: GuestBehaviour;
  readonly startIndex: number;
  readonly timeoutMs: number;
  readonly writeStamps?: SharedArrayBuffer;
}

/** Runner → worker. */
export type GuestCommand = { readonly type: 'status'; readonly id: number } | { readonly type: 'close' };

/** Worker → runner. */
export type GuestMessage =
  | { readonly type: 'connected'; readonly ringRef: number; readonly port: number; readonly page: SharedArrayBuffer }
  | { readonly type: 'report'; readonly report: SimGuestReport }
  | ({ readonly type: 'status'; readonly id: number } & SimGuestStatus)
  | { readonly type: 'failed'; readonly error: SerializedError };

const KINDS = new Set(['echo', 'source', 'sink', 'line-echo']);
const ENDINGS = new Set(['done', 'eof', 'stopped']);
const U32 = 0xffffffff;
/** Longer messages from a guest are cut: a guest may not make us hold more than this. */
const MAX_ERROR_MESSAGE = 4096;

/**
 * Checks a message from a guest worker. A guest runs a guest's code, so nothing in its messages
 * is trusted: a wrong shape is `undefined`, strings are bounded.
 */
export function parseGuestMessage(data: unknown): GuestMessage | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'connected':
      if (!isInt(data.ringRef, 0, U32) || !isInt(data.port, 1, U32)) return undefined;
      if (!isSharedArrayBuffer(data.page) || data.page.byteLength !== 4096) return undefined;
      return { type: 'connected', ringRef: data.ringRef, port: data.port, page: data.page };
    case 'report': {
      const report = parseReport(data.report);
      return report ? { type: 'report', report } : undefined;
    }
    case 'status':
      if (!isInt(data.id, 0, 0x7fffffff)) return undefined;
      if (!isCount(data.events) || !isCount(data.notifies) || !isCount(data.bytesRead) || !isCount(data.bytesWritten)) return undefined;
      return { type: 'status', id: data.id, events: data.events, notifies: data.notifies, bytesRead: data.bytesRead, bytesWritten: data.bytesWritten };
    case 'failed': {
      const error = parseError(data.error);
      return error ? { type: 'failed', error } : undefined;
    }
    default:
      return undefined;
  }
}

function parseReport(data: unknown): SimGuestReport | undefined {
  if (!isRecord(data) || typeof data.behaviour !== 'string' || !KINDS.has(data.behaviour)) return undefined;
  const ended = typeof data.ended === 'string' ? (ENDINGS.has(data.ended) ? data.ended : undefined) : parseError(data.ended);
  const read = parseTransfer(data.read);
  const written = parseTransfer(data.written);
  if (ended === undefined || !read || !written || !isCount(data.events) || !isCount(data.notifies)) return undefined;
  const times = ['firstReadAt', 'lastReadAt', 'firstWriteAt', 'lastWriteAt'] as const;
  const stamped: Partial<Record<(typeof times)[number], bigint>> = {};
  for (const t of times) {
    const v = data[t];
    if (v === undefined) continue;
    if (typeof v !== 'bigint' || v < 0n) return undefined;
    stamped[t] = v;
  }
  return {
    behaviour: data.behaviour as GuestBehaviourKind,
    ended: ended as SimGuestReport['ended'],
    read,
    written,
    events: data.events,
    notifies: data.notifies,
    ...stamped,
  };
}

function parseTransfer(data: unknown): GuestTransfer | undefined {
  if (!isRecord(data) || !isCount(data.bytes) || typeof data.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(data.sha256)) return undefined;
  return { bytes: data.bytes, sha256: data.sha256 };
}

function parseError(data: unknown): SerializedError | undefined {
  if (!isRecord(data) || typeof data.kind !== 'string' || typeof data.message !== 'string') return undefined;
  // The kind is one of FlowError's; anything else from a guest is reported as a protocol error.
  const kind = FLOW_ERROR_KINDS.has(data.kind) ? (data.kind as SerializedError['kind']) : 'protocol';
  return { kind, message: data.message.slice(0, MAX_ERROR_MESSAGE) };
}

const FLOW_ERROR_KINDS = new Set([
  'closed',
  'eof-early',
  'refused',
  'timeout',
  'reset',
  'aborted',
  'protocol',
  'unreachable',
  'limit',
  'not-found',
  'in-use',
  'permission',
  'invalid',
  'unsupported',
  'io',
]);

/** Tagged rather than `instanceof`: a buffer from another thread may come from another realm's constructor. */
function isSharedArrayBuffer(v: unknown): v is SharedArrayBuffer {
  return Object.prototype.toString.call(v) === '[object SharedArrayBuffer]';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function isCount(v: unknown): v is number {
  return isInt(v, 0, Number.MAX_SAFE_INTEGER);
}
