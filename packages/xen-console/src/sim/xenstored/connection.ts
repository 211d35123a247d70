import { EOF, type Flow } from '@flow/core';
import { encodeFrame, type XsFrame } from '../../xenstore/frame';
import { FrameDecoder } from '../../xenstore/frame-decoder';
import { XENSTORE_PAYLOAD_MAX } from '../../xenstore/limits';
import { XsType } from '../../xenstore/message-types';
import { encodeReplyPayload } from '../../xenstore/payload';
import type { SimTransaction } from './transaction';
import type { SimWatch } from './watches';

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** Handles one request frame; replies go back through `sendReply`. */
  handle(conn: SimConnection, frame: XsFrame): void;
  /** The connection ended (either side; `killed` by us): forget it, with its watches and transactions. */
  detach(conn: SimConnection, reason: string, killed: boolean): void;
  /** Replies this connection may leave unread before its requests stop being read. */
  outstandingLimit(conn: SimConnection): number;
  /** Watch events this connection may have queued before more are dropped. */
  queuedEventsLimit(conn: SimConnection): number;
}

/** How a client reaches the simulated xenstored: a Unix socket, or a domain's connection. */
export type SimConnectionKind = 'socket' | 'domain';

const FLUSH_ON_CLOSE_MS = 1000;

interface Outgoing {
  readonly bytes: Buffer;
  readonly reply: boolean;
}

/**
 * One client of the simulated xenstored: a socket (always dom0, absolute paths only) or an
 * in-process domain connection (its domid for permissions, relative paths allowed). Requests
 * are handled one at a time in arrival order; replies and watch events leave in one ordered
 * queue. A client that does not read its replies stops being read (the outstanding quota);
 * watch events past their bound are dropped and counted. A frame over 4096 bytes kills the
 * connection at once, as xenstored does.
 */
export class SimConnection {
  readonly watches = new Map<string, SimWatch>();
  readonly transactions = new Map<number, SimTransaction>();
  private readonly decoder = new FrameDecoder();
  private readonly out: Outgoing[] = [];
  private queuedReplies = 0;
  private queuedEvents = 0;
  private pumping = false;
  private roomWaiter: (() => void) | undefined;
  private readonly drainWaiters: Array<() => void> = [];
  private ended = false;
  private droppedEventCount = 0;

  constructor(
    private readonly host: ConnectionHost,
    private readonly flow: Flow,
    readonly id: number,
    readonly domid: number,
    readonly kind: SimConnectionKind,
  ) {}

  /** Watch events dropped because this connection did not read them. */
  get droppedEvents(): number {
    return this.droppedEventCount;
  }

  /** Replies and events queued and not yet taken by the transport. */
  get queued(): { readonly replies: number; readonly events: number } {
    return { replies: this.queuedReplies, events: this.queuedEvents };
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** The directory relative paths are taken from. */
  get home(): string {
    return `/local/domain/${this.domid}`;
  }

  start(): void {
    void this.readLoop();
  }

  sendReply(frame: XsFrame): void {
    if (this.ended) return;
    this.out.push({ bytes: encodeFrame(frame), reply: true });
    this.queuedReplies += 1;
    this.pump();
  }

  sendEvent(path: string, token: string): void {
    if (this.ended) return;
    if (this.queuedEvents >= this.host.queuedEventsLimit(this)) {
      this.droppedEventCount += 1;
      return;
    }
    const payload = encodeReplyPayload({ type: 'WATCH_EVENT', path, token });
    if (payload.length > XENSTORE_PAYLOAD_MAX) {
      // A long event path under a watch with a long token: it cannot be sent, so it is dropped.
      this.droppedEventCount += 1;
      return;
    }
    this.out.push({ bytes: encodeFrame({ type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload }), reply: false });
    this.queuedEvents += 1;
    this.pump();
  }

  /** Ends the connection now, dropping what is queued (a misbehaving or departed client). */
  kill(reason: string): void {
    if (this.ended) return;
    this.end(reason, true);
    this.flow.abort();
  }

  private end(reason: string, killed = false): void {
    this.ended = true;
    this.out.length = 0;
    this.watches.clear();
    this.transactions.clear();
    this.roomWaiter?.();
    this.host.detach(this, reason, killed);
  }

  private async readLoop(): Promise<void> {
    for (;;) {
      const r = await this.flow.read();
      if (this.ended) return;
      if (!r.ok) {
        this.kill(r.error.message);
        return;
      }
      if (r.value === EOF) {
        // The client is done sending: let it read what is queued for it (bounded in time, in
        // case it never reads), then close our side.
        await this.flushed(FLUSH_ON_CLOSE_MS);
        if (!this.ended) this.end('the client closed the connection');
        await this.flow.close({ timeoutMs: FLUSH_ON_CLOSE_MS });
        return;
      }
      const frames = this.decoder.push(r.value);
      if (!frames.ok) {
        this.kill(frames.error.message);
        return;
      }
      for (const frame of frames.value) {
        while (!this.ended && this.queuedReplies >= this.host.outstandingLimit(this)) {
          await new Promise<void>((resolve) => {
            this.roomWaiter = resolve;
          });
          this.roomWaiter = undefined;
        }
        if (this.ended) return;
        this.host.handle(this, frame);
      }
    }
  }

  /** Resolves once everything queued was written, or after `ms`. */
  private flushed(ms: number): Promise<void> {
    if (!this.pumping && this.out.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiters.push(done);
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      while (this.out.length > 0) {
        const batch = this.out.splice(0);
        const written = await this.flow.writev(batch.map((o) => o.bytes));
        for (const o of batch) {
          if (o.reply) this.queuedReplies -= 1;
          else this.queuedEvents -= 1;
        }
        this.roomWaiter?.();
        if (!written.ok) {
          if (!this.ended) this.end(written.error.message);
          break;
        }
      }
      this.pumping = false;
      const waiters = this.drainWaiters.splice(0);
      for (const w of waiters) w();
    })();
  }
}
