import { XENSTORE_PAYLOAD_MAX, XS_HEADER_SIZE } from './limits';

/** One message: the `xsd_sockmsg` header fields and the payload that follows it. */
export interface XsFrame {
  /** The message type, an {@link XsType} value (u32). */
  readonly type: number;
  /** The request id, echoed by the reply (u32). */
  readonly reqId: number;
  /** The transaction id, 0 for none (u32). */
  readonly txId: number;
  /** The payload: at most 4096 bytes on the wire. */
  readonly payload: Buffer;
}

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${name} must be an unsigned 32-bit integer, got ${value}`);
  }
}

/**
 * The wire bytes of a frame: the 16-byte header (little-endian, as on every platform Xen runs
 * on) and the payload. Throws for a payload over `maxPayload` (default 4096): callers check
 * sizes first and turn them into errors, since a peer kills a connection that sends more.
 */
export function encodeFrame(frame: XsFrame, maxPayload: number = XENSTORE_PAYLOAD_MAX): Buffer {
  checkU32('type', frame.type);
  checkU32('reqId', frame.reqId);
  checkU32('txId', frame.txId);
  if (frame.payload.length > maxPayload) {
    throw new RangeError(`payload of ${frame.payload.length} bytes is over the limit of ${maxPayload}`);
  }
  const out = Buffer.allocUnsafe(XS_HEADER_SIZE + frame.payload.length);
  out.writeUInt32LE(frame.type, 0);
  out.writeUInt32LE(frame.reqId, 4);
  out.writeUInt32LE(frame.txId, 8);
  out.writeUInt32LE(frame.payload.length, 12);
  frame.payload.copy(out, XS_HEADER_SIZE);
  return out;
}

/** The header fields at `offset` (which must hold at least 16 bytes). */
export function decodeHeader(
  bytes: Uint8Array,
  offset = 0,
): {
  /** The message type (u32). */
  type: number;
  /** The request id (u32). */
  reqId: number;
  /** The transaction id (u32). */
  txId: number;
  /** The payload's length in bytes, as announced (u32, not checked here). */
  len: number;
} {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + offset, XS_HEADER_SIZE);
  return {
    type: view.readUInt32LE(0),
    reqId: view.readUInt32LE(4),
    txId: view.readUInt32LE(8),
    len: view.readUInt32LE(12),
  };
}
