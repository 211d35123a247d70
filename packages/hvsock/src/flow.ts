import { EOF, err, FlowError, FlowWrapper, ok, type Flow, type ReadOptions, type Result } from '@flow/core';
import type { HvsockAddress } from './address/types';

/** What `readExactlyInto` filled: all of the buffer, or fewer bytes because the stream ended. */
export interface ExactRead {
  /** Bytes written into the start of the buffer. */
  readonly bytes: number;
  /** True when the stream ended before the buffer was full (`bytes` may be 0). */
  readonly eof: boolean;
}

/** A flow over a hypervisor socket, with the addresses of both ends. */
export interface HvsockFlow extends Flow {
  /** The peer, as far as the transport tells it (a Unix-socket transport knows only the address it dialled). */
  readonly remote: HvsockAddress;
  /** This end, when the transport tells it. */
  readonly local: HvsockAddress | undefined;
  /**
   * Upstream's `read_into`: fills the whole of `buffer`, or, when the peer ends the stream first,
   * reports the bytes filled with `eof: true`; no byte is ever dropped. (`readInto`, the flow
   * contract's, resolves as soon as at least one byte is there.)
   */
  readExactlyInto(buffer: Uint8Array, options?: ReadOptions): Promise<Result<ExactRead, FlowError>>;
}

/** Fills `buffer` from `flow` until it is full or the stream ends. */
export async function readExactlyInto(flow: Flow, buffer: Uint8Array, options?: ReadOptions): Promise<Result<ExactRead, FlowError>> {
  if (!(buffer instanceof Uint8Array)) throw new TypeError('readExactlyInto needs a Uint8Array');
  let filled = 0;
  while (filled < buffer.length) {
    const r = await flow.readInto(buffer.subarray(filled), options);
    if (!r.ok) {
      // Bytes already filled stay in the buffer; the error says how many.
      return err(filled > 0 ? withFilled(r.error, filled) : r.error);
    }
    if (r.value === EOF) return ok({ bytes: filled, eof: true });
    filled += r.value;
  }
  return ok({ bytes: filled, eof: false });
}

function withFilled(error: FlowError, filled: number): FlowError {
  // Reads have no byte count of their own; the message carries it.
  const { code, syscall, errno, cause } = error;
  return new FlowError(error.kind, `${error.message} (after ${filled} bytes were read into the buffer)`, { code, syscall, errno, cause });
}

/** Adds the hypervisor-socket face (addresses, `readExactlyInto`) to any flow. */
export class AddressedFlow extends FlowWrapper implements HvsockFlow {
  constructor(
    inner: Flow,
    readonly remote: HvsockAddress,
    readonly local: HvsockAddress | undefined,
  ) {
    super(inner);
  }

  readExactlyInto(buffer: Uint8Array, options?: ReadOptions): Promise<Result<ExactRead, FlowError>> {
    return readExactlyInto(this, buffer, options);
  }
}
