import { EOF, type Flow, FlowError, type ReadResult, type SyncIo, syncIoOf } from '@flow/core';
import { HEADER_SIZE } from './constants';

/** How many of an oversized frame's first bytes are kept for the message. */
const OVERSIZE_HEAD_BYTES = 16;

/** What {@link FrameReader.next} resolves with. */
export type FrameEvent =
  | {
      /** A whole frame arrived. */
      readonly kind: 'frame';
      /** The frame, size field included: a view of the read buffer or a copy, the caller's to keep. */
      readonly frame: Uint8Array;
    }
  /**
   * A frame larger than the limit: its bytes were skipped (or, without `skipOversize`, the reader
   * stops there), never buffered; the header is kept, and the first bytes for a message.
   */
  | {
      /** A frame over `maxSize` was seen. */
      readonly kind: 'oversize';
      /** Its type byte. */
      readonly code: number;
      /** Its tag. */
      readonly tag: number;
      /** Its size field, in bytes. */
      readonly size: number;
      /** Its first bytes (at most 16), for the error message. */
      readonly head: Uint8Array;
    }
  | {
      /** The stream ended cleanly between frames. */
      readonly kind: 'end';
    }
  | {
      /** Reading failed, the stream ended inside a frame, or a size field was below 7; every later call returns this again. */
      readonly kind: 'error';
      /** Why. */
      readonly error: FlowError;
    };

/**
 * Cuts a flow into 9P frames. A frame is never buffered beyond `maxSize` (the negotiated
 * msize, or the maximum before Tversion): an oversized frame is skipped without allocating it,
 * so a hostile peer cannot make us hold more than one read chunk plus one frame.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done: FrameEvent | undefined;
  /** The flow's synchronous face, when it has one (see {@link poll}). */
  private readonly sync: SyncIo | undefined;

  /**
   * `skipOversize` (default true): skip an oversized frame and go on, as a server does to answer
   * it with an error. A client sets it false: an oversized reply is fatal, and skipping it would
   * wait for a non-9P peer to send gigabytes (or to close) before saying anything.
   */
  constructor(
    private readonly flow: Flow,
    /** The largest frame accepted, in bytes; raise it to the negotiated msize after Tversion. */
    public maxSize: number,
    private readonly skipOversize = true,
  ) {
    this.sync = syncIoOf(flow);
  }

  private async fill(): Promise<boolean> {
    return this.accept(await this.flow.read());
  }

  /** Takes in what one read of the flow gave; false when reading is over (`done` says why). */
  private accept(r: ReadResult): boolean {
    if (!r.ok) {
      this.done = { kind: 'error', error: r.error };
      return false;
    }
    if (r.value === EOF) {
      this.done =
        this.buffered === 0
          ? { kind: 'end' }
          : { kind: 'error', error: new FlowError('eof-early', `stream ended inside a 9P frame (${this.buffered} bytes)`) };
      return false;
    }
    this.chunks.push(r.value);
    this.buffered += r.value.length;
    return true;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return this.copyOut(n, false);
  }

  /** Takes `n` bytes: a view of the first chunk when it holds them all, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    return this.copyOut(n, true);
  }

  private copyOut(n: number, consume: boolean): Uint8Array {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (consume) {
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      } else i++;
    }
    if (consume) this.buffered -= n;
    return out;
  }

  private discard(n: number): void {
    while (n > 0 && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
        this.buffered -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
  }

  /**
   * The next whole frame without waiting, when the bytes are buffered here or in the flow (read
   * synchronously, no promise): `'more'` when a frame within the limit is still incomplete and the
   * flow has nothing more yet (await {@link readable}, then poll again); undefined when only
   * {@link next} can tell (an oversized or malformed frame, the end, an error, a flow that cannot
   * be read synchronously). A server answers a burst of requests from one socket read this way,
   * without a trip through the promise queue per frame.
   */
  poll(): FrameEvent | 'more' | undefined {
    if (this.done) return undefined;
    for (;;) {
      if (this.buffered >= 4) {
        const head = this.peek(4);
        const size = (head[0]! | (head[1]! << 8) | (head[2]! << 16)) + head[3]! * 0x1000000;
        if (size < HEADER_SIZE || size > this.maxSize) return undefined;
        if (this.buffered >= size) return { kind: 'frame', frame: this.take(size) };
      }
      if (!this.sync) return undefined;
      const r = this.sync.readNow();
      if (r === undefined) return 'more';
      if (!this.accept(r)) return undefined;
    }
  }

  /**
   * Resolves once the flow can be read without waiting (bytes, its end, or an error), for
   * {@link poll}; at once for a flow that cannot be read synchronously ({@link poll} then
   * leaves the read to {@link next}).
   */
  readable(): Promise<void> {
    const sync = this.sync;
    if (!sync || this.done) return Promise.resolve();
    // Bytes may have come since the last poll: take them now (whenReadable waits for new ones).
    const r = sync.readNow();
    if (r !== undefined) {
      this.accept(r);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => sync.whenReadable(resolve));
  }

  /** The next frame, an oversized frame's header, the clean end, or the error that stopped reading. */
  async next(): Promise<FrameEvent> {
    if (this.done) return this.done;
    while (this.buffered < 4) if (!(await this.fill())) return this.done!;
    const head = this.peek(4);
    const size = (head[0]! | (head[1]! << 8) | (head[2]! << 16)) + head[3]! * 0x1000000;
    if (size < HEADER_SIZE) {
      this.done = { kind: 'error', error: new FlowError('protocol', `9P frame size ${size} is below 7`, { code: 'EPROTO' }) };
      return this.done;
    }
    if (size > this.maxSize) {
      while (this.buffered < HEADER_SIZE) if (!(await this.fill())) return this.done!;
      const h = this.peek(HEADER_SIZE);
      const head = Uint8Array.prototype.slice.call(this.peek(Math.min(this.buffered, OVERSIZE_HEAD_BYTES)), 0, OVERSIZE_HEAD_BYTES);
      const event = { kind: 'oversize' as const, code: h[4]!, tag: h[5]! | (h[6]! << 8), size, head };
      if (!this.skipOversize) {
        this.done = event;
        return event;
      }
      let left = size;
      while (left > 0) {
        if (this.buffered === 0 && !(await this.fill())) return this.done!;
        const k = Math.min(left, this.buffered);
        this.discard(k);
        left -= k;
      }
      return event;
    }
    while (this.buffered < size) if (!(await this.fill())) return this.done!;
    return { kind: 'frame', frame: this.take(size) };
  }
}
