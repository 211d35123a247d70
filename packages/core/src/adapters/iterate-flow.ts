import { EOF, type Flow } from '../flow';

/**
 * The chunks `flow` reads until EOF, for a flow's own `[Symbol.asyncIterator]`. A read error is
 * thrown (as the `FlowError` it is): in a `for await` loop that is the only way to tell a reset
 * from the end of the stream. Leaving the loop early touches nothing; the flow stays usable.
 */
export async function* iterateFlow(flow: Flow): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return;
    yield r.value;
  }
}
