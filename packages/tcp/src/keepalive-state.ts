import type { Keepalive } from './keepalive';

/** Probes sent since the last packet from the peer. `alive` is the state after any traffic. */
export interface KeepaliveState {
  readonly probesSent: number;
}

export const KEEPALIVE_ALIVE: KeepaliveState = Object.freeze({ probesSent: 0 });

export type KeepaliveAction =
  | { readonly action: 'send-probe' }
  | { readonly action: 'wait'; readonly ms: number }
  | { readonly action: 'close' };

/**
 * The keepalive state machine of mirage-tcpip's direct stack, as a pure function: given the
 * configuration, the time since the peer was last heard from and the probes already sent, say
 * whether to send a probe now, wait (and how long), or give the connection up.
 *
 * Probe k (k = 1..probes) is due at `after + (k - 1) * interval`. A caller that wakes up late
 * does not send the probes it missed: it counts them as sent and only sends the latest one, so a
 * stalled timer never produces a burst. Once the time for a probe after the last one has come,
 * the answer is `close`.
 */
export function keepaliveNext(
  config: Keepalive,
  sinceLastReceivedMs: number,
  state: KeepaliveState,
): { readonly action: KeepaliveAction; readonly state: KeepaliveState } {
  if (!(config.interval > 0)) throw new RangeError('keepalive interval must be > 0');
  if (!(sinceLastReceivedMs >= 0)) throw new RangeError('time since the last packet must be >= 0');
  if (sinceLastReceivedMs < config.after) {
    return { action: { action: 'wait', ms: config.after - sinceLastReceivedMs }, state };
  }
  const overdue = sinceLastReceivedMs - config.after;
  const due = Math.floor(overdue / config.interval) + 1;
  if (due > config.probes) return { action: { action: 'close' }, state };
  if (state.probesSent < due) return { action: { action: 'send-probe' }, state: { probesSent: due } };
  return { action: { action: 'wait', ms: config.interval - (overdue % config.interval) }, state };
}
