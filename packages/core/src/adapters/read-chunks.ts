import { abortedError, type FlowError } from '../errors';
import { EOF, type Flow, type ReadOptions } from '../flow';
import { err, ok, type Result } from '../result';

/** How an iteration of `readChunks` ended without error: the stream's EOF, or the caller stopped. */
export type ReadChunksEnd = 'eof' | 'stopped';

/** The chunks of a flow as an async iterable, and how the iteration ended. */
export interface ChunkIterable extends AsyncIterable<Uint8Array> {
  /**
   * Settles when the iteration is over: `ok('eof')` at the end of stream, `ok('stopped')` when
   * the loop left early (`break`, `return`, a throw), `err(error)` when a read failed or
   * `signal` aborted. Never rejects.
   */
  readonly result: Promise<Result<ReadChunksEnd, FlowError>>;
}

/**
 * Iterates the chunks a flow reads until EOF or an error, for `for await` loops. Unlike
 * iterating a Node socket, it never closes, aborts or shuts down anything: leaving the loop,
 * reaching EOF or failing leaves the flow as it was, so a server can drain a request to EOF and
 * still write its reply. A read error ends the iteration (it does not throw); `result` carries
 * it. `signal` ends it with `aborted`; the aborted read consumed nothing.
 *
 * The iterable is single-use: every `[Symbol.asyncIterator]()` returns the same iterator.
 */
export function readChunks(flow: Flow, options: ReadOptions = {}): ChunkIterable {
  const { signal } = options;
  let settle!: (r: Result<ReadChunksEnd, FlowError>) => void;
  const result = new Promise<Result<ReadChunksEnd, FlowError>>((resolve) => {
    settle = resolve;
  });
  let finished = false;
  const finish = (r: Result<ReadChunksEnd, FlowError>): IteratorResult<Uint8Array> => {
    if (!finished) {
      finished = true;
      settle(r);
    }
    return { done: true, value: undefined };
  };
  // `next` calls are served one after the other, so overlapping calls keep chunk order.
  let chain: Promise<unknown> = Promise.resolve();
  const step = async (): Promise<IteratorResult<Uint8Array>> => {
    if (finished) return { done: true, value: undefined };
    if (signal?.aborted) return finish(err(abortedError(signal.reason)));
    const r = await flow.read({ signal });
    if (finished) {
      // return() came while this read was pending (possible only when calling next() and
      // return() by hand): hand the chunk out all the same, so that no byte is lost.
      return r.ok && r.value !== EOF ? { done: false, value: r.value } : { done: true, value: undefined };
    }
    if (!r.ok) return finish(r);
    if (r.value === EOF) return finish(ok('eof'));
    return { done: false, value: r.value };
  };
  const iterator: AsyncIterator<Uint8Array> = {
    next() {
      const p = chain.then(step);
      chain = p;
      return p;
    },
    async return() {
      return finish(ok('stopped'));
    },
  };
  return {
    result,
    [Symbol.asyncIterator]: () => iterator,
  };
}
