import { closedError, err, FlowError, OK, type FlowDriver, type InboundPort, type WriteResult } from '@flow/core';
import type { EvtPort } from '../platform/types';
import { DiscardMiddleBuffer } from './discard-middle';
import { EventRateLimiter, type RateLimitOptions } from './rate-limit';

/** The backend's view of the console page: guest output out, guest input in. */
export interface BackendRingPort {
  /** False once the page was unmapped beneath us (the platform was closed under an open flow). */
  readonly usable: boolean;
  /** Takes at most `max` bytes of the guest's output as a fresh copy. */
  takeOutput(max: number): RingStep & { readonly bytes: Uint8Array | undefined };
  /** Puts as much of `data` into the guest's input ring as fits. */
  putInput(data: Uint8Array): RingStep & { readonly written: number };
  /** Bytes in the guest's input ring that it has not read yet. */
  unreadInput(): { readonly bytes: number; readonly corrupt?: string };
}

export interface RingStep {
  /** The other end must be told (we consumed or published something). */
  readonly notify: boolean;
  /** Set when the guest's indices are impossible or were tampered with: nothing was moved. */
  readonly corrupt?: string;
}

/** What happens when the guest writes faster than the flow is read. */
export type OverflowPolicy = 'block' | 'discardMiddle';

export interface ConsolePolicy extends RateLimitOptions {
  /**
   * `block` (default for a flow): nothing more is taken from the ring while `maxBufferedBytes`
   * are unread, so the guest waits on a full ring. `discardMiddle` (xenconsoled's default): the
   * ring is always drained and the middle of what is unread is dropped past 5/4 of the cap.
   */
  readonly overflow?: OverflowPolicy;
  /** The most guest output held for readers. Default 64 KiB (`block`) or the console's `limit` (`discardMiddle`). */
  readonly maxBufferedBytes?: number;
}

/**
 * Checks a policy given by a caller (a programmer error throws), before anything is opened: the
 * same checks the rate limiter and the buffers would make later, with resources already held.
 */
export function checkPolicy(policy: ConsolePolicy): void {
  new EventRateLimiter(policy);
  const overflow: unknown = policy.overflow ?? 'block';
  if (overflow !== 'block' && overflow !== 'discardMiddle') throw new RangeError(`overflow must be 'block' or 'discardMiddle', got ${String(overflow)}`);
  const max = policy.maxBufferedBytes;
  if (max !== undefined && !(Number.isInteger(max) && max >= (overflow === 'discardMiddle' ? 4 : 1))) {
    throw new RangeError(`maxBufferedBytes must be an integer >= ${overflow === 'discardMiddle' ? 4 : 1}, got ${String(max)}`);
  }
}

/** Counters of what the guest did, beyond the flow's byte counts. */
export interface ConsoleStats {
  /** Event-channel events received from the guest. */
  events: number;
  /** Notifications sent to the guest (one per pass that moved data). */
  notifies: number;
  /** Rate-limit periods in which the guest used up its allowance (its port stayed masked). */
  rateLimitedPeriods: number;
  /** Times the guest left the ring indices in an impossible state (the console was then ended). */
  corruptRings: number;
  /** `discardMiddle`: bytes dropped from the middle of unread output. */
  discardedBytes: number;
  /** `discardMiddle`: unread output held beyond the reader's buffer, now and at most so far (<= 5/4 of the cap). */
  heldBytes: number;
  /** `discardMiddle`: the most `heldBytes` has been. */
  peakHeldBytes: number;
}

export interface ConsoleDriverHooks {
  /** The guest broke the ring protocol; the flow has failed with a `protocol` error. Tell the guest. */
  readonly onCorrupt: (reason: string) => void;
  /** shutdownWrite: the guest has read everything we wrote; tell it no more comes (backend Closing). Resolves once told. */
  readonly onWriteShutdown: () => Promise<void>;
  /**
   * Lets go of the page and the event channel, once. The driver never touches either again:
   * after the guest went away, after a corruption, or at close.
   */
  readonly releaseRing: () => void;
  /** The flow is closed or aborted: the xenstore state, watches and connection go (once). */
  readonly teardown: () => void;
}

/** A write waiting for room in the guest's input ring. */
interface PendingWrite {
  readonly data: Uint8Array[];
  index: number;
  offset: number;
  /** Bytes of this write already in the ring. */
  accepted: number;
  readonly resolve: (r: WriteResult) => void;
}

/**
 * The console as a flow driver: guest output (`out`) becomes reads, writes go into `in`. Events
 * arrive masked; each is admitted by the rate limiter, which leaves the port masked for the rest
 * of a period once the guest exceeded its allowance.
 */
export class ConsoleDriver implements FlowDriver {
  readonly stats: ConsoleStats = { events: 0, notifies: 0, rateLimitedPeriods: 0, corruptRings: 0, discardedBytes: 0, heldBytes: 0, peakHeldBytes: 0 };
  private readonly limiter: EventRateLimiter;
  private readonly overflow: OverflowPolicy;
  private readonly held: DiscardMiddleBuffer | undefined;
  private paused = false;
  /** No more guest output: EOF or a failure was given to readers. */
  private ended = false;
  /** The page and the port were given back: never touched again. */
  private detached = false;
  private released = false;
  private unmaskTimer: NodeJS.Timeout | undefined;
  private stopEvents: (() => void) | undefined;
  private pending: PendingWrite | undefined;
  private writeFailure: FlowError | undefined;
  /** shutdownWrite waiting for the guest to read what is in its input ring. */
  private shutdownWaiter: ((r: WriteResult) => void) | undefined;
  /** close() started: nothing waits for the guest any more. */
  private closing = false;

  constructor(
    private readonly ring: BackendRingPort,
    private readonly evtchn: EvtPort,
    private readonly port: InboundPort,
    policy: ConsolePolicy,
    limit: number,
    private readonly hooks: ConsoleDriverHooks,
  ) {
    this.limiter = new EventRateLimiter(policy);
    this.overflow = policy.overflow ?? 'block';
    this.held = this.overflow === 'discardMiddle' ? new DiscardMiddleBuffer(policy.maxBufferedBytes ?? limit) : undefined;
  }

  /** Starts taking events; looks at the ring at once (the guest may have written before we connected). */
  start(): void {
    if (this.detached) return;
    this.stopEvents = this.evtchn.onEvent(() => this.onEvent());
    this.service();
  }

  private onEvent(): void {
    if (this.detached) return;
    this.stats.events += 1;
    this.service();
    if (this.detached) return;
    if (this.limiter.admit()) {
      this.evtchn.unmask();
      return;
    }
    this.stats.rateLimitedPeriods = this.limiter.limitedPeriods;
    // Over the allowance: the port stays masked until the period ends; the guest's further
    // notifications are pending meanwhile and arrive as one event after the unmask.
    this.scheduleUnmask();
  }

  private scheduleUnmask(): void {
    if (this.unmaskTimer || this.detached) return;
    this.unmaskTimer = setTimeout(() => {
      this.unmaskTimer = undefined;
      if (this.detached) return;
      // A timer may fire a little before the limiter's clock says the period is over: an
      // unmask then would let a 31st event into the period.
      if (this.limiter.msUntilNextPeriod() > 0) {
        this.scheduleUnmask();
        return;
      }
      this.evtchn.unmask();
      this.service();
    }, Math.max(1, Math.ceil(this.limiter.msUntilNextPeriod())));
  }

  /** One pass over both rings; notifies once if anything moved. */
  private service(): void {
    if (this.detached || this.ended) return;
    if (!this.ring.usable) {
      // The platform was closed under an open flow: the page is gone, the console with it.
      this.peerGone();
      return;
    }
    let notify = this.drainOutput(false);
    notify = this.fillInput() || notify;
    if (notify && !this.detached) {
      this.stats.notifies += 1;
      this.evtchn.notify();
    }
    this.checkShutdown();
  }

  /** Ends a waiting shutdownWrite once the guest has read all its input (it notifies when it reads). */
  private checkShutdown(): void {
    if (!this.shutdownWaiter || this.pending) return;
    if (!this.closing && !this.detached) {
      const unread = this.ring.unreadInput();
      if (unread.corrupt) {
        this.corrupt(unread.corrupt);
        return;
      }
      if (unread.bytes > 0) return;
    }
    const resolve = this.shutdownWaiter;
    this.shutdownWaiter = undefined;
    // Closing when the guest has gone (detached) changes nothing it could see; close() writes Closed.
    if (!this.detached && !this.closing) void this.hooks.onWriteShutdown().then(() => resolve(OK));
    else resolve(OK);
  }

  /**
   * Takes guest output while readers have room (`block`) or always (`discardMiddle`). `final`:
   * the guest is going away, so whatever is in the ring (one ring's worth at most) is taken
   * regardless of room.
   */
  private drainOutput(final: boolean): boolean {
    let notify = false;
    const hwm = this.port.highWaterMark;
    for (let guard = 0; guard < 64 && !this.detached && !this.ended; guard++) {
      let room: number;
      if (this.held || final) {
        room = Number.MAX_SAFE_INTEGER; // always drain: the buffer drops the middle past its cap
      } else {
        if (this.paused) break;
        room = hwm - this.port.buffered;
        if (room <= 0) break;
      }
      const r = this.ring.takeOutput(Math.min(room, 64 * 1024));
      if (r.corrupt) {
        this.corrupt(r.corrupt);
        return false;
      }
      if (r.notify) notify = true;
      if (!r.bytes || r.bytes.length === 0) break;
      if (this.held) {
        this.held.append(r.bytes);
        this.stats.discardedBytes = this.held.discarded;
        this.stats.heldBytes = this.held.length;
        this.stats.peakHeldBytes = Math.max(this.stats.peakHeldBytes, this.held.length);
      } else {
        this.port.push(r.bytes);
      }
    }
    this.feedReaders(final);
    return notify;
  }

  /** In `discardMiddle` mode, moves held output to readers while they have room (all of it when `final`). */
  private feedReaders(final: boolean): void {
    if (!this.held) return;
    while ((final || !this.paused) && this.held.length > 0) {
      const room = final ? this.held.length : this.port.highWaterMark - this.port.buffered;
      if (room <= 0) break;
      const chunk = this.held.take(room);
      if (!chunk) break;
      this.port.push(chunk);
    }
    this.stats.heldBytes = this.held.length;
  }

  private fillInput(): boolean {
    const w = this.pending;
    if (!w || this.detached) return false;
    let notify = false;
    while (w.index < w.data.length) {
      const chunk = w.data[w.index] as Uint8Array;
      const r = this.ring.putInput(chunk.subarray(w.offset));
      if (r.corrupt) {
        this.corrupt(r.corrupt);
        return false;
      }
      if (r.notify) notify = true;
      w.offset += r.written;
      w.accepted += r.written;
      if (w.offset < chunk.length) break; // the ring is full: wait for the guest
      w.index += 1;
      w.offset = 0;
    }
    if (w.index === w.data.length) {
      this.pending = undefined;
      w.resolve(OK);
    }
    return notify;
  }

  private corrupt(reason: string): void {
    this.stats.corruptRings += 1;
    const e = new FlowError('protocol', `the guest broke the console ring: ${reason}; the console was closed`);
    this.failWrites(e);
    this.ended = true;
    this.port.fail(e);
    // Nothing on the page can be trusted any more, and events from it mean nothing: let go now.
    this.detachRing();
    this.hooks.onCorrupt(reason);
  }

  /**
   * The guest closed its end, removed it, or died: readers get what it wrote (what is in the
   * ring is taken whatever the policy), then EOF; waiting writes fail with `closed`; the page
   * and the port are given back at once (a dying domain cannot finish dying while we map it).
   */
  peerGone(): void {
    if (this.ended || this.released) {
      this.detachRing();
      return;
    }
    if (!this.detached && this.ring.usable) this.drainOutput(true);
    else this.feedReaders(true);
    if (this.ended) return; // the last look found the ring corrupt
    this.ended = true;
    this.failWrites(new FlowError('closed', 'the guest closed its console'));
    this.port.end();
    this.detachRing();
  }

  private detachRing(): void {
    if (this.detached) return;
    this.detached = true;
    // What the guest had not read stays in its ring; there is no one left to tell.
    this.checkShutdown();
    if (this.unmaskTimer) clearTimeout(this.unmaskTimer);
    this.unmaskTimer = undefined;
    this.stopEvents?.();
    this.hooks.releaseRing();
  }

  /**
   * `close()` does not wait for the guest: a write still waiting for room in `in` fails with
   * `closed` (its `bytesAccepted` says how much the guest was given), so that close can go on.
   */
  cancelWaitingWrite(): void {
    this.closing = true;
    if (this.pending) this.failWrites(closedError());
    this.checkShutdown();
  }

  // ---- FlowDriver ----

  write(chunks: readonly Uint8Array[]): WriteResult | Promise<WriteResult> {
    if (this.writeFailure) return err(this.writeFailure);
    if (this.detached || this.ended) return err(closedError());
    return new Promise<WriteResult>((resolve) => {
      // The ring keeps a copy of what it took; the rest waits here until the guest consumed.
      this.pending = { data: [...chunks], index: 0, offset: 0, accepted: 0, resolve };
      this.service();
    });
  }

  private failWrites(e: FlowError): void {
    this.writeFailure ??= e;
    const w = this.pending;
    this.pending = undefined;
    w?.resolve(err(w.accepted > 0 ? e.withBytesAccepted(w.accepted) : e));
  }

  /**
   * The console page has no end-of-stream mark; the backend's xenstore state is the signal. It
   * is set Closing only once the guest has read everything in its input ring: a Linux guest
   * tears its console down as soon as it sees Closing, and would lose what it had not read.
   * During close() (and once the guest is gone) nothing is waited for.
   */
  shutdownWrite(): Promise<WriteResult> {
    if (this.detached || this.ended || this.closing) return Promise.resolve(OK);
    return new Promise<WriteResult>((resolve) => {
      this.shutdownWaiter = resolve;
      this.checkShutdown();
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // The guest may be waiting on a full ring for our notification.
    this.service();
  }

  abort(reason: FlowError): void {
    this.failWrites(reason);
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.failWrites(closedError());
    this.detachRing();
    this.hooks.teardown();
  }
}
