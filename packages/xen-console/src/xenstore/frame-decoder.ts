import { err, FlowError, ok, type Result } from '@flow/core';
import { decodeHeader, type XsFrame } from './frame';
import { XENSTORE_PAYLOAD_MAX, XS_HEADER_SIZE } from './limits';

/** Options of the {@link FrameDecoder} constructor. */
export interface FrameDecoderOptions {
  /** The largest payload accepted; a header announcing more is a fatal error. Default 4096. */
  readonly maxPayload?: number;
}

/**
 * Cuts a byte stream into frames. It never holds more than one partial frame (at most
 * 16 + maxPayload bytes): a peer that announces a larger payload gets a fatal `protocol` error
 * at once, before any of that payload is buffered. After an error every call returns it again.
 */
export class FrameDecoder {
  private readonly maxPayload: number;
  private pending: Buffer = Buffer.alloc(0);
  private failed: FlowError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    const maxPayload = options.maxPayload ?? XENSTORE_PAYLOAD_MAX;
    if (!Number.isInteger(maxPayload) || maxPayload < 0) throw new RangeError('maxPayload must be an integer >= 0');
    this.maxPayload = maxPayload;
  }

  /** Bytes held for a frame that is not complete yet. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Adds bytes; returns every frame they complete, in order. */
  push(chunk: Uint8Array): Result<XsFrame[], FlowError> {
    if (this.failed) return err(this.failed);
    const bytes = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: XsFrame[] = [];
    let at = 0;
    while (bytes.length - at >= XS_HEADER_SIZE) {
      const header = decodeHeader(bytes, at);
      if (header.len > this.maxPayload) {
        this.pending = Buffer.alloc(0);
        this.failed = new FlowError(
          'protocol',
          `xenstore frame announces a payload of ${header.len} bytes, over the limit of ${this.maxPayload}`,
          { code: 'E2BIG' },
        );
        return err(this.failed);
      }
      const end = at + XS_HEADER_SIZE + header.len;
      if (bytes.length < end) break;
      // A copy, so that a frame does not pin the (possibly large) chunk it came in.
      const payload = Buffer.from(bytes.subarray(at + XS_HEADER_SIZE, end));
      frames.push({ type: header.type, reqId: header.reqId, txId: header.txId, payload });
      at = end;
    }
    this.pending = at === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(at));
    return ok(frames);
  }

  /** At end of stream: an error if a frame was cut short. */
  finish(): Result<void, FlowError> {
    if (this.failed) return err(this.failed);
    if (this.pending.length === 0) return ok(undefined);
    const have = this.pending.length;
    const want = have >= XS_HEADER_SIZE ? XS_HEADER_SIZE + decodeHeader(this.pending).len : XS_HEADER_SIZE;
    this.failed = new FlowError('eof-early', `the stream ended inside a xenstore frame (${have} of ${want} bytes)`);
    this.pending = Buffer.alloc(0);
    return err(this.failed);
  }
}
