import { EOF, err, FlowError, ok, type Flow, type Result } from '@flow/core';
import type { TransactionOptions, WaitOptions, XsClient, XsOps, XsPerm, XsWatch } from './client-types';
import { xsError } from './errors';
import { encodeFrame, type XsFrame } from './frame';
import { FrameDecoder } from './frame-decoder';
import { XENSTORE_PAYLOAD_MAX, XS_HEADER_SIZE } from './limits';
import { XsType } from './message-types';
import { createOps, type RequestSender } from './ops';
import { checkPath } from './path';
import { decodeReplyPayload, encodeRequestPayload, requestTypeCode, type XsReply, type XsRequest } from './payload';
import { PendingRequests } from './pending-requests';
import type { XsRetry } from './retry';
import { runTransaction } from './transaction';
import { runWait } from './wait';
import { QueuedWatch, type WatchSink } from './watch';

/** Options of the {@link XenstoreClient} constructor. */
export interface XenstoreClientOptions {
  /** A name for messages. Default `xenstore`. */
  readonly label?: string;
  /**
   * Allow paths relative to `/local/domain/<domid>`: only a domain's own connection (a ring, or
   * the simulator's in-process domain connections) has them; xenstored refuses them on sockets.
   * Default false.
   */
  readonly allowRelativePaths?: boolean;
  /** Events each watch queues for its reader before coalescing (WatchEventQueue). Default 256. */
  readonly watchQueueLimit?: number;
  /** How long `close()` waits for the server's side of the close handshake. Default 2000 ms. */
  readonly closeTimeoutMs?: number;
  /**
   * The connection is the Linux xenbus device (/dev/xen/xenbus), whose kernel side differs from
   * xenstored in two ways (drivers/xen/xenbus/xenbus_dev_frontend.c): its message buffer holds
   * the header too, so a payload may be at most 4096 - 16 bytes (more is E2BIG there, refused
   * here first); and it answers WATCH and UNWATCH itself with a reply whose req_id is 0, which
   * is matched to the oldest such request (the device handles requests one at a time, in order).
   * Default false.
   */
  readonly xenbusDevice?: boolean;
}

/** Counters of what a (possibly hostile) server sent that the client ignored. */
export interface XenstoreClientStats {
  /** Requests sent and not yet answered. */
  readonly pendingRequests: number;
  /** Watches set on this connection. */
  readonly watches: number;
  /** Replies whose req_id matched no pending request. */
  readonly strayReplies: number;
  /** WATCH_EVENTs for a token this connection does not watch. */
  readonly strayEvents: number;
  /** WATCH_EVENTs whose payload was not `<path>|<token>|`. */
  readonly malformedEvents: number;
}

const DEFAULT_WATCH_QUEUE_LIMIT = 256;
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

function describe(req: XsRequest, txId: number): string {
  const where = 'path' in req ? ` ${req.path}` : 'domid' in req && req.domid !== undefined ? ` ${req.domid}` : '';
  return `${req.type}${where}${txId !== 0 ? ` (transaction ${txId})` : ''}`;
}

/**
 * A xenstore client over any flow (a Unix socket to xenstored, an in-process pipe to the
 * simulator). Requests are pipelined: each gets its own req_id and replies are matched by id
 * in any order. Watch events go to their watch's bounded queue. Every failure is a value: the
 * connection never throws, never emits, and a broken or hostile server ends pending and later
 * operations with a typed error.
 */
export class XenstoreClient implements XsClient, RequestSender {
  /** The name used in messages; see {@link XenstoreClientOptions.label}. */
  readonly label: string;
  /** Whether paths relative to the domain's home are allowed; see {@link XenstoreClientOptions.allowRelativePaths}. */
  readonly allowRelativePaths: boolean;
  /** Settles with the reason once the connection is gone (closed by us, by the server, or broken). */
  readonly ended: Promise<FlowError>;

  private readonly pending = new PendingRequests();
  private readonly sinks = new Map<string, WatchSink>();
  private readonly decoder = new FrameDecoder();
  private readonly ops: XsOps;
  private readonly watchQueueLimit: number;
  private readonly closeTimeoutMs: number;
  private readonly xenbusDevice: boolean;
  private readonly payloadMax: number;
  private failure: FlowError | undefined;
  private closing: Promise<void> | undefined;
  private resolveEnded!: (reason: FlowError) => void;
  private tokens = 0;
  private strayReplies = 0;
  private strayEvents = 0;
  private malformedEvents = 0;

  constructor(
    private readonly flow: Flow,
    options: XenstoreClientOptions = {},
  ) {
    this.label = options.label ?? 'xenstore';
    this.allowRelativePaths = options.allowRelativePaths ?? false;
    this.watchQueueLimit = options.watchQueueLimit ?? DEFAULT_WATCH_QUEUE_LIMIT;
    if (!Number.isInteger(this.watchQueueLimit) || this.watchQueueLimit < 1) throw new RangeError('watchQueueLimit must be an integer >= 1');
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.xenbusDevice = options.xenbusDevice ?? false;
    this.payloadMax = this.xenbusDevice ? XENSTORE_PAYLOAD_MAX - XS_HEADER_SIZE : XENSTORE_PAYLOAD_MAX;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    this.ops = createOps(this, 0);
    void this.readLoop();
  }

  /** A snapshot of the counters. */
  get stats(): XenstoreClientStats {
    return {
      pendingRequests: this.pending.size,
      watches: this.sinks.size,
      strayReplies: this.strayReplies,
      strayEvents: this.strayEvents,
      malformedEvents: this.malformedEvents,
    };
  }

  /** Whether the connection is still usable. */
  get isOpen(): boolean {
    return this.failure === undefined;
  }

  read(path: string): Promise<Result<string, FlowError>> {
    return this.ops.read(path);
  }

  write(path: string, value: string | Uint8Array): Promise<Result<void, FlowError>> {
    return this.ops.write(path, value);
  }

  mkdir(path: string): Promise<Result<void, FlowError>> {
    return this.ops.mkdir(path);
  }

  rm(path: string): Promise<Result<void, FlowError>> {
    return this.ops.rm(path);
  }

  directory(path: string): Promise<Result<string[], FlowError>> {
    return this.ops.directory(path);
  }

  getPerms(path: string): Promise<Result<XsPerm[], FlowError>> {
    return this.ops.getPerms(path);
  }

  setPerms(path: string, perms: readonly XsPerm[]): Promise<Result<void, FlowError>> {
    return this.ops.setPerms(path, perms);
  }

  transaction<T>(fn: (tx: XsOps) => Promise<Result<T, FlowError>>, options?: TransactionOptions): Promise<Result<T, FlowError>> {
    return runTransaction(this, fn, options);
  }

  wait<T>(fn: (ops: XsOps) => Promise<Result<T | XsRetry, FlowError>>, options?: WaitOptions): Promise<Result<T, FlowError>> {
    return runWait(this.ops, { subscribe: (path, onEvent) => this.subscribeCallback(path, onEvent), ended: this.ended }, fn, options);
  }

  async watch(path: string): Promise<Result<XsWatch, FlowError>> {
    const checked = checkPath(path, { allowRelative: this.allowRelativePaths, allowSpecial: true });
    if (!checked.ok) return checked;
    let unsubscribe: () => Promise<void> = async () => {};
    const watch = new QueuedWatch(path, this.watchQueueLimit, () => unsubscribe());
    const r = await this.subscribe(path, watch);
    if (!r.ok) {
      watch.terminate(r.error);
      return r;
    }
    unsubscribe = r.value;
    return ok(watch);
  }

  getDomainPath(domid: number): Promise<Result<string, FlowError>> {
    if (!Number.isInteger(domid) || domid < 0 || domid > 0xffff) throw new RangeError('domid must be an integer 0..65535');
    return this.request({ type: 'GET_DOMAIN_PATH', domid }, 0).then((r) => {
      if (!r.ok) return r;
      return r.value.type === 'GET_DOMAIN_PATH' ? ok(r.value.path) : err(new FlowError('protocol', 'unexpected reply to GET_DOMAIN_PATH'));
    });
  }

  /**
   * Sends one request (in transaction `txId`, 0 for none) and resolves with its reply; an ERROR
   * reply becomes a FlowError whose `code` is xenstore's error name. The low-level door for
   * requests XsClient has no method for (INTRODUCE, IS_DOMAIN_INTRODUCED, GET_QUOTA, ...).
   */
  request(req: XsRequest, txId: number): Promise<Result<XsReply, FlowError>> {
    // Encoded first, so that arguments no request can carry throw here, not as a rejection.
    const payload = encodeRequestPayload(req);
    if (!Number.isInteger(txId) || txId < 0 || txId > 0xffffffff) throw new RangeError('txId must be an unsigned 32-bit integer');
    return this.send(req, txId, payload);
  }

  private async send(req: XsRequest, txId: number, payload: Buffer): Promise<Result<XsReply, FlowError>> {
    if (this.failure) return err(this.closedError());
    const context = describe(req, txId);
    if (payload.length > this.payloadMax) {
      // xenstored kills a connection that sends more (the xenbus device refuses it), so never send it.
      return err(
        new FlowError('limit', `xenstore ${context}: a payload of ${payload.length} bytes is over the limit of ${this.payloadMax}`, {
          code: 'E2BIG',
        }),
      );
    }
    let resolve!: (r: Result<XsReply, FlowError>) => void;
    const reply = new Promise<Result<XsReply, FlowError>>((r) => {
      resolve = r;
    });
    const reqId = this.pending.add({ type: req.type, context, resolve });
    const frame: XsFrame = { type: requestTypeCode(req.type), reqId, txId, payload };
    const written = await this.flow.write(encodeFrame(frame));
    if (!written.ok) this.fail(written.error);
    return reply;
  }

  /** Ends the connection: pending operations and watches end with a `closed` error. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.fail(new FlowError('closed', `the ${this.label} connection was closed`));
      this.closing = this.flow.close({ timeoutMs: this.closeTimeoutMs }).then(() => undefined);
    }
    return this.closing;
  }

  private closedError(): FlowError {
    const reason = this.failure;
    if (reason && reason.kind === 'closed') return reason;
    return new FlowError('closed', `the ${this.label} connection is closed${reason ? `: ${reason.message}` : ''}`, { cause: reason });
  }

  private async subscribe(path: string, sink: WatchSink): Promise<Result<() => Promise<void>, FlowError>> {
    this.tokens += 1;
    const token = `flow${this.tokens}`;
    // Registered before WATCH is sent: the first event may come right after the reply.
    this.sinks.set(token, sink);
    const r = await this.request({ type: 'WATCH', path, token }, 0);
    if (!r.ok) {
      this.sinks.delete(token);
      return r;
    }
    return ok(async () => {
      if (!this.sinks.delete(token) || this.failure) return;
      await this.request({ type: 'UNWATCH', path, token }, 0);
    });
  }

  private async subscribeCallback(path: string, onEvent: (path: string) => void): Promise<Result<{ close(): Promise<void> }, FlowError>> {
    const checked = checkPath(path, { allowRelative: this.allowRelativePaths, allowSpecial: true });
    if (!checked.ok) return checked;
    const r = await this.subscribe(path, { deliver: onEvent, terminate: () => {} });
    return r.ok ? ok({ close: r.value }) : r;
  }

  private async readLoop(): Promise<void> {
    for (;;) {
      const r = await this.flow.read();
      if (!r.ok) {
        this.fail(r.error);
        return;
      }
      if (r.value === EOF) {
        const finished = this.decoder.finish();
        this.fail(finished.ok ? new FlowError('closed', `the ${this.label} server closed the connection`) : finished.error);
        if (!this.closing) void this.flow.close({ timeoutMs: this.closeTimeoutMs });
        return;
      }
      const frames = this.decoder.push(r.value);
      if (!frames.ok) {
        this.fail(frames.error);
        this.flow.abort(frames.error);
        return;
      }
      for (const frame of frames.value) this.dispatch(frame);
    }
  }

  private dispatch(frame: XsFrame): void {
    if (this.failure) return;
    if (frame.type === XsType.WATCH_EVENT) {
      const event = decodeReplyPayload(frame.type, frame.payload);
      if (!event.ok || event.value.type !== 'WATCH_EVENT') {
        this.malformedEvents += 1;
        return;
      }
      const sink = this.sinks.get(event.value.token);
      if (sink) sink.deliver(event.value.path);
      else this.strayEvents += 1;
      return;
    }
    const pending = this.pending.take(frame.reqId) ?? this.kernelWatchReply(frame);
    if (!pending) {
      this.strayReplies += 1;
      return;
    }
    const reply = decodeReplyPayload(frame.type, frame.payload);
    if (!reply.ok) {
      pending.resolve(err(new FlowError('protocol', `xenstore ${pending.context}: ${reply.error.message}`, { cause: reply.error })));
    } else if (reply.value.type === 'ERROR') {
      pending.resolve(err(xsError(reply.value.code, pending.context)));
    } else if (reply.value.type !== pending.type) {
      pending.resolve(err(new FlowError('protocol', `xenstore ${pending.context}: the server answered with ${reply.value.type}`)));
    } else {
      pending.resolve(ok(reply.value));
    }
  }

  /** The xenbus device's own answer to WATCH or UNWATCH (req_id 0): the oldest request of that type. */
  private kernelWatchReply(frame: XsFrame): ReturnType<PendingRequests['take']> {
    if (!this.xenbusDevice || frame.reqId !== 0) return undefined;
    if (frame.type === XsType.WATCH) return this.pending.takeOldest('WATCH');
    if (frame.type === XsType.UNWATCH) return this.pending.takeOldest('UNWATCH');
    return undefined;
  }

  private fail(reason: FlowError): void {
    if (this.failure) return;
    this.failure = reason;
    // Pending requests learn the real reason; watches just learn that they are over.
    this.pending.failAll(reason);
    const error = reason.kind === 'closed' ? reason : this.closedErrorFor(reason);
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const s of sinks) s.terminate(error);
    this.resolveEnded(reason);
  }

  private closedErrorFor(reason: FlowError): FlowError {
    return new FlowError('closed', `the ${this.label} connection is closed: ${reason.message}`, { cause: reason });
  }
}
