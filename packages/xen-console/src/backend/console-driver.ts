import { closedError, err, FlowError, OK, type FlowDriver, type InboundPort, type WriteResult } from '@flow/core';
import type { EvtPort } from '../platform/types';
import { DiscardMiddleBuffer } from './discard-middle';
import { EventRateLimiter, type RateLimitOptions } from './rate-limit';

/** The backend's view of the console page: guest output out, guest input in. */
export interface BackendRingPort {
  /** Takes at most `max` bytes of the guest's output as a fresh copy. */
  takeOutput(max: number): RingStep & { readonly bytes: Uint8Array | undefined };
  /** Puts as much of `data` into the guest's input ring as fits. */
  putInput(data: Uint8Array): RingStep & { readonly written: number };
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

/** Counters of what the guest did, beyond the flow's byte counts. */
export interface ConsoleStats {
  events: number;
  notifies: number;
  rateLimitedPeriods: number;
  corruptRings: number;
  discardedBytes: number;
}

export interface ConsoleDriverHooks {
  /** The guest broke the ring protocol; the flow has failed with a `protocol` error. */
  readonly onCorrupt: (reason: string) => void;
  /** Releases the mapping, the event channel and the xenstore state (once). */
  readonly teardown: () => void;
}


/**
 * The console as a flow driver: guest output (`out`) becomes reads, writes go into `in`. Events
 * arrive masked; each is admitted by the rate limiter, which leaves the port masked for the rest
 * of a period once the guest exceeded its allowance.
 */
export class ConsoleDriver implements FlowDriver {
  readonly stats: ConsoleStats = { events: 0, notifies: 0, rateLimitedPeriods: 0, corruptRings: 0, discardedBytes: 0 };
  private readonly limiter: EventRateLimiter;
  private readonly overflow: OverflowPolicy;
  private readonly held: DiscardMiddleBuffer | undefined;
  private paused = false;
  private ended = false;
  private released = false;
  private unmaskTimer: NodeJS.Timeout | undefined;
  private stopEvents: (() => void) | undefined;
  private pending: { data: Uint8Array[]; index: number; offset: number; resolve: (r: WriteResult) => void } | undefined;
  private writeFailure: FlowError | undefined;

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
    this.stopEvents = this.evtchn.onEvent(() => this.onEvent());
    this.service();
  }

  private onEvent(): void {
    if (this.released) return;
    this.stats.events += 1;
    this.service();
    if (this.limiter.admit()) {
      this.evtchn.unmask();
      return;
    }
    this.stats.rateLimitedPeriods = this.limiter.limitedPeriods;
    // Over the allowance: the port stays masked until the period ends; the guest's further
    // notifications are pending meanwhile and arrive as one event after the unmask.
    if (!this.unmaskTimer) {
      this.unmaskTimer = setTimeout(() => {
        this.unmaskTimer = undefined;
        if (this.released) return;
        this.evtchn.unmask();
        this.service();
      }, Math.max(1, this.limiter.msUntilNextPeriod()));
    }
  }

  /** One pass over both rings; notifies once if anything moved. */
  private service(): void {
    if (this.released || this.ended) return;
    let notify = this.drainOutput();
    notify = this.fillInput() || notify;
    if (notify && !this.released) {
      this.stats.notifies += 1;
      this.evtchn.notify();
    }
  }

  private drainOutput(): boolean {
    let notify = false;
    const hwm = this.port.highWaterMark;
    for (let guard = 0; guard < 64 && !this.released && !this.ended; guard++) {
      let room: number;
      if (this.held) {
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
      } else {
        this.port.push(r.bytes);
      }
    }
    this.feedReaders();
    return notify;
  }

  /** In `discardMiddle` mode, moves held output to readers while they have room. */
  private feedReaders(): void {
    if (!this.held) return;
    while (!this.paused && this.held.length > 0) {
      const room = this.port.highWaterMark - this.port.buffered;
      if (room <= 0) break;
      const chunk = this.held.take(room);
      if (!chunk) break;
      this.port.push(chunk);
    }
  }

  private fillInput(): boolean {
    const w = this.pending;
    if (!w || this.released) return false;
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
    this.hooks.onCorrupt(reason);
  }

  /** The guest closed its end or its domain died: readers get what was read, then EOF. */
  peerGone(): void {
    if (this.ended || this.released) return;
    // Whatever the guest wrote before it went is still ours.
    this.drainOutput();
    this.ended = true;
    this.failWrites(new FlowError('closed', 'the guest closed its console'));
    this.port.end();
  }

  // ---- FlowDriver ----

  write(chunks: readonly Uint8Array[]): WriteResult | Promise<WriteResult> {
    if (this.writeFailure) return err(this.writeFailure);
    if (this.released || this.ended) return err(closedError());
    return new Promise<WriteResult>((resolve) => {
      // The ring keeps a copy of what it took; the rest waits here until the guest consumed.
      this.pending = { data: [...chunks], index: 0, offset: 0, resolve };
      this.service();
    });
  }

  private failWrites(e: FlowError): void {
    this.writeFailure ??= e;
    const w = this.pending;
    this.pending = undefined;
    w?.resolve(err(e));
  }

  shutdownWrite(): Promise<WriteResult> {
    // A PV console has no end of stream: everything accepted is in the ring, nothing is signalled.
    return Promise.resolve(OK);
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
    if (this.unmaskTimer) clearTimeout(this.unmaskTimer);
    this.stopEvents?.();
    this.failWrites(closedError());
    this.hooks.teardown();
  }
}
