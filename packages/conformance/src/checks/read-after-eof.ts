import { needsHalfCloseRead, type ConformanceCase } from '../case';
import { expectEOF, expectOk } from '../support/results';
import { expectSame, KiB, receive, send } from '../support/transfer';

export function readAfterEofCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'read-after-eof' as const };
  return [
    {
      ...base,
      title: 'read and readInto after EOF return EOF again, several times',
      run: async ({ open }) => {
        const { a, b } = await open();
        const receiving = receive(b);
        const sent = await send(a, Math.min(maxBytes, 10 * KiB + 1));
        // close() rather than shutdownWrite(), so that this holds for every half-close capability.
        const closing = a.close();
        expectSame(await receiving, sent, 'eof', 'data before EOF');
        for (let i = 0; i < 5; i += 1) expectEOF(await b.read(), `read ${i + 1} after EOF`);
        for (let i = 0; i < 2; i += 1) expectEOF(await b.readInto(new Uint8Array(16)), `readInto ${i + 1} after EOF`);
        expectOk(await b.close(), 'b.close()');
        expectOk(await closing, 'a.close()');
        // Still EOF once the handshake released everything.
        expectEOF(await b.read(), 'read after the flow was closed');
        expectEOF(await b.readInto(new Uint8Array(1)), 'readInto after the flow was closed');
      },
    },
    {
      ...base,
      requires: needsHalfCloseRead,
      title: 'after shutdownRead, reads return EOF at once and again',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.write(Buffer.from('dropped or not, never read')), 'write');
        expectOk(await b.shutdownRead(), 'shutdownRead');
        for (let i = 0; i < 3; i += 1) expectEOF(await b.read(), `read ${i + 1} after shutdownRead`);
        expectEOF(await b.readInto(new Uint8Array(8)), 'readInto after shutdownRead');
      },
    },
  ];
}
