import type { Flow } from '@flow/core';
import { needsHalfCloseWrite, type ConformanceCase } from '../case';
import { expectEOF, expectOk } from '../support/results';
import { expectSame, KiB, MiB, receive, send } from '../support/transfer';

/** `first` shuts its write side; `second` reads to EOF, then still talks back to `first`. */
async function shutThenReply(first: Flow, second: Flow, maxBytes: number): Promise<void> {
  const forward = Math.min(maxBytes, 100 * KiB + 3);
  const back = Math.min(maxBytes, MiB + 7);
  const receiving = receive(second);
  const sent = await send(first, forward);
  expectOk(await first.shutdownWrite(), 'shutdownWrite');
  expect(first.writeState).toBe('shut');
  expectSame(await receiving, sent, 'eof', 'data before the half-close');
  expectEOF(await second.read(), 'read after EOF');
  // The other direction is untouched by the half-close.
  const replying = receive(first);
  const reply = await send(second, back);
  expectOk(await second.shutdownWrite(), 'shutdownWrite of the other direction');
  expectSame(await replying, reply, 'eof', 'data sent after the peer half-closed');
}

export function halfCloseCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'half-close' as const, requires: needsHalfCloseWrite };
  return [
    {
      ...base,
      title: 'a shuts its write side first: b reads the data then EOF, and b→a keeps working',
      run: async ({ open }) => {
        const { a, b } = await open();
        await shutThenReply(a, b, maxBytes);
      },
    },
    {
      ...base,
      title: 'b shuts its write side first: a reads the data then EOF, and a→b keeps working',
      run: async ({ open }) => {
        const { a, b } = await open();
        await shutThenReply(b, a, maxBytes);
      },
    },
    {
      ...base,
      title: 'both shut their write sides at once: each reads the other’s data then EOF',
      run: async ({ open }) => {
        const { a, b } = await open();
        const total = Math.min(maxBytes, 256 * KiB + 1);
        const toB = receive(b);
        const toA = receive(a);
        const [sentA, sentB] = await Promise.all([send(a, total), send(b, total)]);
        const [shutA, shutB] = await Promise.all([a.shutdownWrite(), b.shutdownWrite()]);
        expectOk(shutA, 'a.shutdownWrite');
        expectOk(shutB, 'b.shutdownWrite');
        expectSame(await toB, sentA, 'eof', 'a→b');
        expectSame(await toA, sentB, 'eof', 'b→a');
      },
    },
    {
      ...base,
      title: 'reading continues after our own shutdownWrite',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.shutdownWrite(), 'a.shutdownWrite before any data');
        expectEOF(await b.read(), 'b reads EOF of an empty stream');
        expect(a.readState).toBe('open');
        const receiving = receive(a);
        const sent = await send(b, Math.min(maxBytes, 4 * MiB + 1));
        expectOk(await b.shutdownWrite(), 'b.shutdownWrite');
        expectSame(await receiving, sent, 'eof', 'b→a after a shut its write side');
      },
    },
    {
      ...base,
      title: 'shutdownWrite waits for writes still pending and the peer gets all of them before EOF',
      run: async ({ open }) => {
        const { a, b } = await open();
        const receiving = receive(b);
        const big = Buffer.alloc(Math.min(maxBytes, 2 * MiB), 0x5a);
        const writing = a.write(big);
        const shut = a.shutdownWrite();
        expectOk(await writing, 'write issued before shutdownWrite');
        expectOk(await shut, 'shutdownWrite');
        const got = await receiving;
        expect(got.end).toBe('eof');
        expect(got.bytes).toBe(big.length);
      },
    },
    {
      ...base,
      title: 'repeated shutdownWrite returns the same promise and the peer sees one EOF',
      run: async ({ open }) => {
        const { a, b } = await open();
        const first = a.shutdownWrite();
        const second = a.shutdownWrite();
        expect(second).toBe(first);
        expectOk(await first, 'shutdownWrite');
        expect(a.shutdownWrite()).toBe(first);
        expectEOF(await b.read(), 'b reads EOF');
        // And b can still write to a.
        expectOk(await b.write(Buffer.from('still here')), 'b writes after a half-closed');
        const got = await receive(a, { expected: 10 });
        expect(got.bytes).toBe(10);
      },
    },
  ];
}
