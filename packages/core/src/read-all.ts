import { abortedError, FlowError } from './errors';
import { EOF, type Flow } from './flow';
import { err, ok, type Result } from './result';

/** The bound `readAll` applies when none is given. */
export const READ_ALL_DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** Options of {@link readAll}. */
export interface ReadAllOptions {
  /** Fail with a `limit` error once more than this many bytes arrived before EOF. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Aborting it ends the wait with `aborted`; the bytes read so far are dropped. */
  readonly signal?: AbortSignal;
}

/**
 * Reads `flow` to EOF and returns every byte in one buffer. Only the read half is used: the
 * flow can still be written (a reply after a request) and must still be closed. The bound is
 * there because the peer decides how much it sends: past `maxBytes` the result is a `limit`
 * error and the rest stays unread in the flow.
 */
export async function readAll(flow: Flow, options: ReadAllOptions = {}): Promise<Result<Buffer, FlowError>> {
  const maxBytes = options.maxBytes ?? READ_ALL_DEFAULT_MAX_BYTES;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) throw new RangeError('readAll: maxBytes must be a non-negative integer');
  const { signal } = options;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (signal?.aborted) return err(abortedError(signal.reason));
    const r = await flow.read({ signal });
    if (!r.ok) return r;
    if (r.value === EOF) return ok(Buffer.concat(chunks, total));
    total += r.value.length;
    if (total > maxBytes) {
      return err(new FlowError('limit', `more than ${maxBytes} bytes arrived before the end of the stream`));
    }
    chunks.push(r.value);
  }
}
