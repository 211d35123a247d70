import { createHash } from 'node:crypto';
import { EOF } from '@flow/core';
import type { ConformanceCase } from '../case';
import { expectEOF, expectOk } from '../support/results';
import { expectSame, KiB, MiB, receive, send } from '../support/transfer';

export function readIntoCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'read-into' as const };
  return [
    {
      ...base,
      title: 'readInto fills caller buffers of odd sizes with the bytes in order, then EOF',
      run: async ({ open }) => {
        const { a, b } = await open();
        const receiving = receive(b, { intoSizes: [1, 7, 4096, 64 * KiB, 3, 65537] });
        const sent = await send(a, Math.min(maxBytes, MiB + 5));
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        expectSame(await receiving, sent, 'eof', 'readInto');
        expectEOF(await b.readInto(new Uint8Array(10)), 'readInto after EOF');
      },
    },
    {
      ...base,
      title: 'readInto writes only the bytes it reports and leaves the rest of the buffer alone',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.write(Buffer.from('abc')), 'write');
        const buffer = new Uint8Array(64).fill(0xee);
        const r = expectOk(await b.readInto(buffer), 'readInto');
        if (r === EOF) throw new Error('readInto returned EOF before the data');
        expect(r).toBeGreaterThanOrEqual(1);
        expect(r).toBeLessThanOrEqual(3);
        expect(Buffer.from(buffer.subarray(0, r)).toString()).toBe('abc'.slice(0, r));
        expect(buffer.subarray(r).every((x) => x === 0xee)).toBe(true);
      },
    },
    {
      ...base,
      title: 'read and readInto can be mixed without losing or reordering bytes',
      run: async ({ open }) => {
        const { a, b } = await open();
        const writing = send(a, Math.min(maxBytes, 512 * KiB + 11)).then(async (sent) => {
          expectOk(await a.shutdownWrite(), 'shutdownWrite');
          return sent;
        });
        const hash = createHash('sha256');
        const into = new Uint8Array(1000);
        let bytes = 0;
        for (let i = 0; ; i += 1) {
          if (i % 2 === 0) {
            const v = expectOk(await b.read(), 'read');
            if (v === EOF) break;
            hash.update(v);
            bytes += v.length;
          } else {
            const n = expectOk(await b.readInto(into), 'readInto');
            if (n === EOF) break;
            hash.update(into.subarray(0, n));
            bytes += n;
          }
        }
        const sent = await writing;
        expect(bytes).toBe(sent.bytes);
        expect(hash.digest('hex')).toBe(sent.sha256);
      },
    },
  ];
}
