import { abortedError, FlowError } from '../errors';
import { EOF, type Flow, type ReadOptions } from '../flow';
import { err, ok, type Result } from '../result';
import { copyBytes } from '../bytes';

/**
 * What `readExactly` returns when the stream ends before `n` bytes arrived: every byte that did
 * arrive (possibly none), so that nothing consumed is lost (mirage-channel returned a bare EOF).
 */
export interface EarlyEof {
  /** Always `'eof'`: tells this value from the bytes of a complete read. */
  readonly kind: 'eof';
  /** The bytes that arrived before the end, fewer than asked for (possibly none). */
  readonly partial: Uint8Array;
}

/** What `readExactly` resolves with: exactly the bytes asked for, an {@link EarlyEof}, or the error. */
export type ExactlyResult = Result<Uint8Array | EarlyEof, FlowError>;
/** What `readLine` resolves with: the decoded line without its CR/LF, `EOF`, or the error (`limit` for a line too long). */
export type LineResult = Result<string | EOF, FlowError>;
/** What `readLineBytes` resolves with: the line's bytes without its CR/LF, `EOF`, or the error. */
export type LineBytesResult = Result<Uint8Array | EOF, FlowError>;
/** What `readSome` and `read` resolve with: at least one byte, `EOF`, or the error. */
export type SomeResult = Result<Uint8Array | EOF, FlowError>;

/** Options of `readLineBytes`. */
export interface LineOptions extends ReadOptions {
  /**
   * The longest line accepted, in bytes of the line itself (the CR and LF that end it do not
   * count). Default: the reader's `maxLineLength`.
   */
  readonly maxLength?: number;
}

/** Options of `readLine`. */
export interface LineStringOptions extends LineOptions {
  /** How the line's bytes are decoded. Default `utf8`. */
  readonly encoding?: BufferEncoding;
}

/** Options of the {@link BufferedReader} constructor. */
export interface BufferedReaderOptions {
  /** Default `maxLength` of `readLine`. Default 64 KiB. */
  readonly maxLineLength?: number;
}

/** What `detach` hands back: the flow, and the bytes the reader had buffered but not returned. */
export interface DetachedReader {
  /** The flow the reader read from, positioned after the bytes in `leftover`. */
  readonly flow: Flow;
  /** Bytes read from the flow that the reader had not returned yet: process them before reading `flow`. */
  readonly leftover: Uint8Array;
}

const DEFAULT_MAX_LINE = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/** Type guard for the early-EOF value of `readExactly`. */
export function isEarlyEof(value: Uint8Array | EarlyEof): value is EarlyEof {
  return !(value instanceof Uint8Array);
}

/**
 * A buffered reader over a flow (mirage-channel's input side, without its data losses).
 *
 * Positions are always defined: an operation that fails (an error, an aborted `signal`, a line
 * over its limit) leaves every byte it had gathered in the reader's buffer, so the next
 * operation sees them again. Memory is bounded: the buffer holds at most what the current
 * operation asked for (`n`, or `maxLength` plus a CR) plus one chunk of the flow.
 *
 * One operation at a time: starting one while another is pending throws an `Error` (a
 * programmer error); await each result first.
 */
export class BufferedReader {
  private readonly flow: Flow;
  private readonly maxLineLength: number;
  // Buffered bytes as a queue of owned chunks; `head` avoids O(n) shifts.
  private chunks: Uint8Array[] = [];
  private head = 0;
  private bufferedBytes = 0;
  // How far readLine already looked for an LF, so that 1-byte chunks do not make it quadratic.
  private scanned = 0;
  private busy = false;
  private detached = false;

  constructor(flow: Flow, options: BufferedReaderOptions = {}) {
    this.flow = flow;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE;
    checkLength(this.maxLineLength, 'maxLineLength');
  }

  /** Bytes read from the flow and not yet returned. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /**
   * Reads exactly `n` bytes. If the stream ends first, resolves with `{ kind: 'eof', partial }`
   * carrying the bytes that did arrive. On an error (or an aborted `signal`) the bytes gathered
   * so far stay buffered.
   */
  readExactly(n: number, options: ReadOptions = {}): Promise<ExactlyResult> {
    checkLength(n, 'n');
    return this.run(() => this.doReadExactly(n, options.signal));
  }

  /**
   * Reads one line as a string. Lines end at LF; a CR right before the LF is removed, also when
   * the two arrived in different chunks. A last line without LF before the end of stream is
   * returned as a line (a CR at its end is kept: only CRLF ends a line); after that, EOF. An
   * empty line is `''`, never EOF.
   *
   * A line longer than `maxLength` bytes resolves with a `limit` error and consumes nothing:
   * its bytes (up to `maxLength` + 1 plus one chunk) stay buffered, so the caller can take them
   * with `readSome`, or give up on the flow.
   */
  readLine(options: LineStringOptions = {}): Promise<LineResult> {
    const encoding = options.encoding ?? 'utf8';
    if (!Buffer.isEncoding(encoding)) throw new TypeError(`unknown encoding ${String(encoding)}`);
    if (options.maxLength !== undefined) checkLength(options.maxLength, 'maxLength');
    return this.run(async (): Promise<LineResult> => {
      const r = await this.doReadLine(options);
      if (!r.ok) return r;
      if (r.value === EOF) return ok(EOF);
      return ok(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length).toString(encoding));
    });
  }

  /** `readLine` returning the line's bytes (without CR/LF) in a fresh buffer. */
  readLineBytes(options: LineOptions = {}): Promise<LineBytesResult> {
    if (options.maxLength !== undefined) checkLength(options.maxLength, 'maxLength');
    return this.run(() => this.doReadLine(options));
  }

  /**
   * Up to `max` bytes: buffered bytes first (at most one buffered chunk's worth), otherwise one
   * read of the flow, whose surplus beyond `max` stays buffered. EOF once both are exhausted.
   */
  readSome(max = Infinity, options: ReadOptions = {}): Promise<SomeResult> {
    if (max !== Infinity && !(Number.isSafeInteger(max) && max >= 1)) {
      throw new RangeError('readSome needs an integer max >= 1');
    }
    return this.run(async () => {
      if (options.signal?.aborted) return err(abortedError(options.signal.reason));
      if (this.bufferedBytes === 0) {
        const r = await this.flow.read(options);
        if (!r.ok || r.value === EOF) return r;
        this.append(r.value);
      }
      const first = this.chunks[this.head];
      return ok(this.take(Math.min(max, first.length)));
    });
  }

  /** The next chunk: a buffered one first, then the flow's own `read`. */
  read(options: ReadOptions = {}): Promise<SomeResult> {
    return this.readSome(Infinity, options);
  }

  /**
   * Pushes `bytes` back in front of the buffer: the next operation returns them first. The
   * bytes are copied. Not allowed while an operation is pending.
   */
  unread(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('unread needs a Uint8Array');
    this.checkIdle();
    if (bytes.length === 0) return;
    const copy = copyBytes(bytes);
    if (this.head > 0) {
      this.head -= 1;
      this.chunks[this.head] = copy;
    } else {
      this.chunks.unshift(copy);
    }
    this.bufferedBytes += copy.length;
    this.scanned = 0;
  }

  /**
   * Hands the flow back with the buffered bytes, for protocols that switch (an upgrade, a
   * handshake followed by a bulk copy). The reader is unusable afterwards. Not allowed while an
   * operation is pending.
   */
  detach(): DetachedReader {
    this.checkIdle();
    const leftover = this.bufferedBytes === 0 ? EMPTY : this.take(this.bufferedBytes);
    this.detached = true;
    return { flow: this.flow, leftover };
  }

  // ---- internals ----

  private checkIdle(): void {
    if (this.detached) throw new Error('BufferedReader: the reader was detached from its flow');
    if (this.busy) throw new Error('BufferedReader: another read is in progress; await it first');
  }

  private run<R>(op: () => Promise<R>): Promise<R> {
    this.checkIdle();
    this.busy = true;
    return op().finally(() => {
      this.busy = false;
    });
  }

  private append(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** One more chunk from the flow into the buffer; EOF or the error otherwise. */
  private async fill(signal: AbortSignal | undefined): Promise<Result<boolean, FlowError>> {
    if (signal?.aborted) return err(abortedError(signal.reason));
    const r = await this.flow.read({ signal });
    if (!r.ok) return r;
    if (r.value === EOF) return ok(false);
    this.append(r.value);
    return ok(true);
  }

  /**
   * Removes the first `n` buffered bytes and returns them in a buffer the caller owns: a whole
   * chunk as is (the flow gave it to us), anything else as a copy, so that a returned buffer
   * never shares memory with bytes still buffered.
   */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[this.head];
    let out: Uint8Array;
    if (first.length === n) {
      out = first;
      this.dropHead();
    } else if (first.length > n) {
      out = first.slice(0, n);
      this.chunks[this.head] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.head];
        const k = Math.min(chunk.length, n - filled);
        out.set(k === chunk.length ? chunk : chunk.subarray(0, k), filled);
        filled += k;
        if (k === chunk.length) this.dropHead();
        else this.chunks[this.head] = chunk.subarray(k);
      }
    }
    this.bufferedBytes -= n;
    this.scanned = Math.max(0, this.scanned - n);
    return out;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head += 1;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The buffered byte at `index` (0 = oldest). */
  private byteAt(index: number): number {
    let i = index;
    for (let c = this.head; c < this.chunks.length; c += 1) {
      const chunk = this.chunks[c];
      if (i < chunk.length) return chunk[i];
      i -= chunk.length;
    }
    throw new RangeError('byteAt beyond the buffer');
  }

  /** Index of the first LF at or after `from`, or -1. */
  private indexOfLf(from: number): number {
    let base = 0;
    for (let c = this.head; c < this.chunks.length; c += 1) {
      const chunk = this.chunks[c];
      if (from < base + chunk.length) {
        const at = chunk.indexOf(LF, Math.max(0, from - base));
        if (at >= 0) return base + at;
      }
      base += chunk.length;
    }
    return -1;
  }

  private async doReadExactly(n: number, signal: AbortSignal | undefined): Promise<ExactlyResult> {
    while (this.bufferedBytes < n) {
      const r = await this.fill(signal);
      if (!r.ok) return r;
      if (!r.value) return ok({ kind: 'eof', partial: this.take(this.bufferedBytes) });
    }
    return ok(this.take(n));
  }

  private async doReadLine(options: LineOptions): Promise<LineBytesResult> {
    const maxLength = options.maxLength ?? this.maxLineLength;
    let lf = this.indexOfLf(this.scanned);
    for (;;) {
      if (lf >= 0) {
        const crlf = lf > 0 && this.byteAt(lf - 1) === CR;
        const length = crlf ? lf - 1 : lf;
        if (length > maxLength) return err(lineTooLong(maxLength));
        const line = this.take(length);
        this.take(crlf ? 2 : 1);
        this.scanned = 0;
        return ok(line);
      }
      this.scanned = this.bufferedBytes;
      // Without an LF yet, the line is at least this long: a last CR may still be the CR of CRLF.
      const atLeast = this.lastByte() === CR ? this.bufferedBytes - 1 : this.bufferedBytes;
      if (atLeast > maxLength) return err(lineTooLong(maxLength));
      const r = await this.fill(options.signal);
      if (!r.ok) return r;
      if (!r.value) {
        if (this.bufferedBytes === 0) return ok(EOF);
        // The last line ended without LF: it is still a line, all of it (a lone CR included).
        if (this.bufferedBytes > maxLength) return err(lineTooLong(maxLength));
        this.scanned = 0;
        return ok(this.take(this.bufferedBytes));
      }
      // Only the chunk just appended is new: search it alone, so 1-byte chunks stay linear.
      const chunk = this.chunks[this.chunks.length - 1];
      const at = chunk.indexOf(LF);
      lf = at >= 0 ? this.bufferedBytes - chunk.length + at : -1;
    }
  }

  private lastByte(): number | undefined {
    if (this.bufferedBytes === 0) return undefined;
    const chunk = this.chunks[this.chunks.length - 1];
    return chunk[chunk.length - 1];
  }
}

function lineTooLong(maxLength: number): FlowError {
  return new FlowError('limit', `line longer than ${maxLength} bytes; its bytes stay buffered`);
}

function checkLength(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`);
}
