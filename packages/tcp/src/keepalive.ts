import type { Socket } from 'node:net';

/**
 * TCP keepalive as in mirage-tcpip's `Keepalive.t`, in milliseconds: after `after` ms without
 * traffic send a probe, then one every `interval` ms; after `probes` unanswered probes the
 * connection is dead (reads and writes then fail with kind `timeout`). TCP only: ignored for
 * Unix-domain sockets, whose flows report `keepalive: undefined`.
 */
export interface Keepalive {
  /** Milliseconds without traffic before the first probe (TCP_KEEPIDLE; Node sets it in whole seconds, rounded up). */
  readonly after: number;
  /** Milliseconds between unanswered probes (TCP_KEEPINTVL). Node cannot set it: see {@link KeepaliveApplied}. */
  readonly interval: number;
  /** Unanswered probes after which the connection is dead (TCP_KEEPCNT). Node cannot set it: see {@link KeepaliveApplied}. */
  readonly probes: number;
}

/**
 * What was really set on the socket. Node (libuv) sets only the idle time, in whole seconds;
 * it fixes the probe interval at 1 s and the probe count at 10 (TCP_KEEPINTVL=1, TCP_KEEPCNT=10
 * on Linux) and offers no way to change them.
 */
export interface KeepaliveApplied {
  /** The idle time set (TCP_KEEPIDLE), in ms: the requested `after` rounded up to whole seconds. */
  readonly after: number;
  /** The probe interval in force, in ms (libuv's fixed 1000). */
  readonly interval: number;
  /** The probe count in force (libuv's fixed 10). */
  readonly probes: number;
  /** True when interval and probes are what was asked for. */
  readonly exact: boolean;
}

const LIBUV_INTERVAL_MS = 1000;
const LIBUV_PROBES = 10;

/** The sentence the capabilities and the docs use for the loss of fidelity. */
export const KEEPALIVE_NOTE =
  'keepalive: only the idle time ("after") is set, rounded up to whole seconds; Node fixes the probe interval at 1 s and the probe count at 10';

export function checkKeepalive(k: Keepalive): void {
  if (typeof k !== 'object' || k === null) throw new TypeError('keepalive must be an object { after, interval, probes }');
  for (const name of ['after', 'interval', 'probes'] as const) {
    const v = k[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`keepalive.${name} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (!Number.isInteger(k.probes) || k.probes < 1) throw new RangeError(`keepalive.probes must be an integer >= 1, got ${k.probes}`);
  if (k.interval <= 0) throw new RangeError('keepalive.interval must be > 0');
}

/** What `applyKeepalive` will set for `k`, without a socket. */
export function keepaliveApplied(k: Keepalive): KeepaliveApplied {
  // mirage rounds milliseconds up to whole seconds; Node would floor (7500 -> 7), so we round
  // ourselves and hand Node a whole number of seconds. The kernel's minimum idle time is 1 s.
  const seconds = Math.max(1, Math.ceil(k.after / 1000));
  return {
    after: seconds * 1000,
    interval: LIBUV_INTERVAL_MS,
    probes: LIBUV_PROBES,
    exact: k.interval === LIBUV_INTERVAL_MS && k.probes === LIBUV_PROBES,
  };
}

export function applyKeepalive(socket: Socket, k: Keepalive): KeepaliveApplied {
  const applied = keepaliveApplied(k);
  socket.setKeepAlive(true, applied.after);
  return applied;
}
