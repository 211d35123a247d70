// Replies onto the flow. Every reply is encoded here (or, for an Rread built in a pooled buffer,
// only its header filled in), handed to the flow in order, and held against the connection's
// memory account until the flow has taken it, so that a client that does not read its replies
// makes the session stop reading requests rather than make the server hold ever more.
import { type Flow, FlowError, type SyncIo, syncIoOf, type WriteResult } from '@flow/core';
import { encode } from '../wire/codec';
import { type Dialect, RREAD_HEADER } from '../wire/constants';
import type { Message, Reply } from '../wire/types';
import type { MemoryAccount } from './memory-budget';
import type { PooledFrame } from './request';

/** Pooled Rread buffers kept per connection; more may be in use at once, those are not kept. */
const POOL_KEEP = 4;

/** Calls a trace hook; a tracing bug must not take the connection down. */
export function traceSafely(trace: ((direction: 'in' | 'out', message: Message) => void) | undefined, direction: 'in' | 'out', m: Message): void {
  try {
    trace?.(direction, m);
  } catch {
    // A tracing bug must not take the connection down.
  }
}

/** Writes one connection's replies and keeps its pool of Rread buffers. */
export class ReplyWriter {
  /** Bytes of replies handed to the flow so far. */
  bytesWritten = 0;
  /** Replies handed to the flow and not yet written. */
  inWrite = 0;
  /** Bytes of replies handed to the flow and not yet written. */
  queuedBytes = 0;
  /** The first write that failed; later replies are dropped once the session has ended. */
  failure: FlowError | undefined;
  /** Set by the session when it stops reading requests. */
  sessionEnded = false;
  /** Free Rread buffers, each `poolSize` bytes (the negotiated msize). */
  private pool: Buffer[] = [];
  private poolSize = 0;
  /**
   * Rread buffers the flow took (a transfer write) but may still hold, oldest first, each with
   * the count of bytes written through the flow once it was: free again when the flow's
   * `bytesFlushed` has reached that count.
   */
  private lent: { buffer: Buffer; end: number }[] = [];
  /** The flow's synchronous face: a reply the flow takes at once settles without a promise. */
  private readonly sync: SyncIo | undefined;

  constructor(
    private readonly flow: Flow,
    private readonly account: MemoryAccount,
    private readonly trace: ((direction: 'in' | 'out', message: Message) => void) | undefined,
    /** Called whenever a write completes (the session may read on). */
    private readonly onWritten: () => void,
  ) {
    this.sync = syncIoOf(flow);
  }

  /** Encodes and writes `reply` in `dialect`. */
  send(reply: Reply, dialect: Dialect): void {
    if (this.sessionEnded && this.failure) return;
    traceSafely(this.trace, 'out', reply);
    let written: Promise<WriteResult>;
    if (reply.type === 'Rread' && reply.data.length >= 1024) {
      // Bulk data goes out as header + payload view, without copying it into one frame.
      const head = Buffer.allocUnsafe(RREAD_HEADER);
      head.writeUInt32LE(RREAD_HEADER + reply.data.length, 0);
      head[4] = 117;
      head.writeUInt16LE(reply.tag, 5);
      head.writeUInt32LE(reply.data.length, 7);
      this.bytesWritten += RREAD_HEADER + reply.data.length;
      written = this.flow.writev([head, reply.data]);
    } else {
      let buf: Uint8Array;
      try {
        buf = encode(reply, dialect);
      } catch (e) {
        // A back end produced something the wire cannot carry (e.g. a name over 65535 bytes).
        const fallback: Reply =
          dialect === '9P2000.L'
            ? { type: 'Rlerror', tag: reply.tag, ecode: 5 }
            : { type: 'Rerror', tag: reply.tag, ename: `reply not encodable: ${String(e).slice(0, 200)}`, errno: 5 };
        buf = encode(fallback, dialect);
      }
      this.bytesWritten += buf.length;
      // The encoded frame is this writer's alone and never touched again: the flow may keep it
      // (`transfer`), so the write settles once the transport queued it, not after a callback.
      const now = this.sync ? this.sync.writeNow(buf, undefined) : this.flow.write(buf, { transfer: true });
      if (!(now instanceof Promise)) {
        this.settled(now);
        return;
      }
      written = now;
    }
    this.hold(written, reply.type === 'Rread' ? RREAD_HEADER + reply.data.length : 64);
  }

  /**
   * A reply waiting to be written is held memory: `bytes` stay charged to the connection's
   * account until `written` settles; then a failure is remembered, `whenOk` runs after a
   * success, and the session may read on.
   */
  private hold(written: Promise<WriteResult>, bytes: number, whenOk?: () => void): void {
    this.inWrite++;
    this.account.charge(bytes);
    this.queuedBytes += bytes;
    void written.then((r) => {
      this.account.release(bytes);
      this.queuedBytes -= bytes;
      this.settled(r);
      if (r.ok) whenOk?.();
      this.inWrite--;
      this.onWritten();
    });
  }

  /** A write that settled at once: nothing was held, only a failure to remember. */
  private settled(r: WriteResult): void {
    if (!r.ok && !this.failure) this.failure = r.error ?? new FlowError('io', 'write failed');
  }

  /** A buffer for one Rread frame of up to `msize` bytes, from the pool when one is free. */
  takeBuffer(msize: number): Buffer {
    if (this.poolSize !== msize) {
      this.pool = [];
      this.lent = [];
      this.poolSize = msize;
    }
    if (this.pool.length === 0 && this.lent.length > 0) this.reclaim();
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(msize);
  }

  /**
   * Returns to the pool the lent buffers the flow has let go of: by the contract of
   * `FlowStats.bytesFlushed`, bytes counted there have left the process, so the transport no
   * longer reads the buffer that held them (the session is the flow's only writer, so this
   * writer's byte count and the flow's agree).
   */
  private reclaim(): void {
    const flushed = this.flow.stats.bytesFlushed;
    if (flushed === undefined) {
      // The flow does not say when it lets go: lent buffers are never reused.
      this.lent = [];
      return;
    }
    let i = 0;
    while (i < this.lent.length && this.lent[i]!.end <= flushed) this.release(this.lent[i++]!.buffer);
    if (i > 0) this.lent.splice(0, i);
  }

  /** Returns a buffer from `takeBuffer` to the pool (kept only while the pool is small). */
  release(buffer: Buffer): void {
    if (buffer.length === this.poolSize && this.pool.length < POOL_KEEP) this.pool.push(buffer);
  }

  /** Sends an Rread laid out in a pooled buffer: fills in its header, writes it, pools it again. */
  sendFrame(reply: Reply, frame: PooledFrame, dialect: Dialect): void {
    if (reply.type !== 'Rread' || (this.sessionEnded && this.failure)) {
      this.release(frame.buffer);
      if (reply.type !== 'Rread') this.send(reply, dialect);
      return;
    }
    traceSafely(this.trace, 'out', reply);
    this.sendReadFrame(reply.tag, frame);
  }

  /** `sendFrame` for an Rread with tag `tag`, without a reply object (nothing to trace). */
  sendReadFrame(tag: number, frame: PooledFrame): void {
    if (this.sessionEnded && this.failure) {
      this.release(frame.buffer);
      return;
    }
    const b = frame.buffer;
    b.writeUInt32LE(frame.length, 0);
    b[4] = 117;
    b.writeUInt16LE(tag, 5);
    b.writeUInt32LE(frame.length - RREAD_HEADER, 7);
    this.bytesWritten += frame.length;
    const view = b.subarray(0, frame.length);
    if (this.sync && !this.failure) {
      // Handed over for good (a transfer): a socket usually takes it at once, with no promise;
      // the buffer comes back to the pool once the flow reports its bytes flushed.
      const now = this.sync.writeNow(view, undefined);
      if (!(now instanceof Promise)) {
        this.settled(now);
        if (now.ok && this.lent.length < POOL_KEEP) this.lent.push({ buffer: b, end: this.bytesWritten });
        return;
      }
      this.hold(now, b.length);
      return;
    }
    // After a failed write the flow may still hold the buffer: it is reused only after a success.
    this.hold(this.flow.write(view), b.length, () => this.release(b));
  }
}
