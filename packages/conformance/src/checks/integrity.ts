import type { ConformanceCase, CaseEnv } from '../case';
import { expectOk } from '../support/results';
import { expectSame, KiB, MiB, pieces, randomBytes, receive, send } from '../support/transfer';
import { createHash } from 'node:crypto';
import { sleep, yieldToLoop } from '../support/wait';

function sizesUpTo(maxBytes: number): number[] {
  const candidates = [1, 7, 4093, 65537, MiB + 3, maxBytes];
  return [...new Set(candidates.filter((n) => n <= maxBytes))].sort((x, y) => x - y);
}

function oneWay(total: number, from: 'a' | 'b'): (env: CaseEnv) => Promise<void> {
  return async (env) => {
    const p = await env.open();
    const [writer, reader] = from === 'a' ? [p.a, p.b] : [p.b, p.a];
    const receiving = receive(reader);
    const sent = await send(writer, total);
    expectOk(await writer.shutdownWrite(), 'shutdownWrite');
    expectSame(await receiving, sent, 'eof', `${from === 'a' ? 'a→b' : 'b→a'} ${total} bytes`);
  };
}

/** Cases for `integrity`. Sizes are computed from maxBytes, so the titles name them. */
export function integrityCases(maxBytes: number): ConformanceCase[] {
  const cases: ConformanceCase[] = sizesUpTo(maxBytes).map((total) => ({
    check: 'integrity',
    title: `a→b: ${total} bytes in odd-sized writes arrive intact and in order (sha256), then EOF`,
    run: oneWay(total, 'a'),
  }));
  cases.push({
    check: 'integrity',
    title: `b→a: ${maxBytes} bytes in odd-sized writes arrive intact and in order (sha256), then EOF`,
    run: oneWay(maxBytes, 'b'),
  });
  cases.push({
    check: 'integrity',
    title: `both directions at once: ${maxBytes} bytes each way arrive intact`,
    run: async (env) => {
      const { a, b } = await env.open();
      // Each side shuts down only after it has received everything, so that this also holds
      // for transports whose shutdownWrite ends the whole flow.
      const side = async (self: typeof a, total: number, sizes: readonly number[]) => {
        const receiving = receive(self, { expected: total });
        const sent = await send(self, total, { sizes });
        return { sent, received: await receiving };
      };
      const [fromA, fromB] = await Promise.all([
        side(a, maxBytes, [65537, 7, 4093, 1, 262147]),
        side(b, maxBytes, [4093, 1, 131071, 13, 65537]),
      ]);
      expectSame(fromB.received, fromA.sent, 'count', 'a→b while b→a ran');
      expectSame(fromA.received, fromB.sent, 'count', 'b→a while a→b ran');
    },
  });
  cases.push({
    check: 'integrity',
    title: 'writes issued without awaiting are delivered in call order',
    run: async (env) => {
      const { a, b } = await env.open();
      const total = Math.min(maxBytes, 4 * MiB);
      const hash = createHash('sha256');
      const buffers = pieces(total).map((n) => randomBytes(n));
      for (const buf of buffers) hash.update(buf);
      const receiving = receive(b);
      const writes = buffers.map((buf) => a.write(buf));
      const shut = a.shutdownWrite();
      const results = await Promise.all(writes);
      results.forEach((r, i) => expectOk(r, `pipelined write ${i}`));
      expectOk(await shut, 'shutdownWrite after pipelined writes');
      expectSame(await receiving, { bytes: total, sha256: hash.digest('hex'), writes: buffers.length }, 'eof', 'pipelined writes');
    },
  });
  cases.push({
    check: 'integrity',
    title: 'refilling a buffer once its write resolved does not change the bytes the peer receives',
    run: async (env) => {
      const { a, b } = await env.open();
      const total = Math.min(maxBytes, 16 * MiB);
      // A reader a little slower than the writer, so that the transport's own buffers fill up
      // and a write resolves while earlier bytes are still queued inside the transport.
      let nextPause = 256 * KiB;
      const receiving = receive(b, {
        pace: async (bytes) => {
          if (bytes < nextPause) return yieldToLoop();
          nextPause += 256 * KiB;
          await sleep(1);
        },
      });
      const sent = await send(a, total, { reuse: true, sizes: [64 * KiB + 1, 4093, 16 * KiB] });
      expectOk(await a.shutdownWrite(), 'shutdownWrite');
      expectSame(await receiving, sent, 'eof', 'writes from a reused buffer');
    },
  });
  return cases;
}
