import { createHash } from 'node:crypto';
import type { ConformanceCase } from '../case';
import { expectOk } from '../support/results';
import { KiB, send } from '../support/transfer';

/** The language protocols every flow has: `for await` over its chunks and `await using`. */
export function languageCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'language' as const };
  return [
    {
      ...base,
      title: 'for await reads every byte to EOF and leaves the write half open',
      run: async ({ open }) => {
        const { a, b } = await open();
        // close() rather than shutdownWrite() ends a's side, so that this holds for every
        // half-close capability; it completes once b closes after the loop.
        let closing: ReturnType<typeof a.close> | undefined;
        const sending = send(a, Math.min(maxBytes, 64 * KiB + 3)).then((sent) => {
          closing = a.close();
          return sent;
        });
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of b) {
          hash.update(chunk);
          bytes += chunk.length;
        }
        const sent = await sending;
        if (bytes !== sent.bytes || hash.digest('hex') !== sent.sha256) {
          throw new Error(`for await read ${bytes} bytes, ${sent.bytes} were sent (or their hashes differ)`);
        }
        if (b.writeState !== 'open') throw new Error(`after the loop b.writeState is '${b.writeState}', not 'open'`);
        expectOk(await b.close(), 'b.close()');
        if (closing) expectOk(await closing, 'a.close()');
      },
    },
    {
      ...base,
      title: 'await using closes both ends with the handshake when their scopes end',
      run: async ({ open }) => {
        const pair = await open();
        const scope = async (flow: typeof pair.a): Promise<void> => {
          await using _scoped = flow;
        };
        await Promise.all([scope(pair.a), scope(pair.b)]);
        for (const [end, flow] of [['a', pair.a], ['b', pair.b]] as const) {
          if (flow.state !== 'closed') throw new Error(`after await using, ${end}.state is '${flow.state}', not 'closed'`);
        }
      },
    },
  ];
}
