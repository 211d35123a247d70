import type { Keepalive } from './keepalive';

/** Probes sent since the last packet from the peer. `alive` is the state after any traffic. */
export interface KeepaliveState {
  /** Probes sent since the peer was last heard from, 0 to `probes`. */
  readonly probesSent: number;
}

/** The state after traffic from the peer: no probe sent. */
export const KEEPALIVE_ALIVE: KeepaliveState = Object.freeze({ probesSent: 0 });

/** What {@link keepaliveNext} says to do now. */
export type KeepaliveAction =
  | {
      /** Send one keepalive probe now. */
      readonly action: 'send-probe';
    }
  | {
      /** Nothing is due: ask again after `ms`. */
      readonly action: 'wait';
      /** Milliseconds until the next probe (or the give-up point) is due. */
      readonly ms: number;
    }
  | {
      /** Every probe went unanswered: the connection is dead. */
      readonly action: 'close';
    };

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
): {
  /** What to do now. */
  readonly action: KeepaliveAction;
  /** The state to pass to the next call (unchanged unless a probe is to be sent). */
  readonly state: KeepaliveState;
} {
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
