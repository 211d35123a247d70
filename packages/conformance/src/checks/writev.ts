import { createHash } from 'node:crypto';
import type { ConformanceCase } from '../case';
import { expectOk } from '../support/results';
import { expectSame, MiB, randomBytes, receive } from '../support/transfer';

const VECTOR_SIZES = [1, 7, 0, 4093, 65537, 3, 0, 13, 16411];

export function writevCases(maxBytes: number): ConformanceCase[] {
  return [
    {
      check: 'writev',
      title: 'writev delivers its buffers (empty ones included) in order, interleaved with write',
      run: async ({ open }) => {
        const { a, b } = await open();
        const budget = Math.min(maxBytes, 2 * MiB);
        const hash = createHash('sha256');
        let bytes = 0;
        let calls = 0;
        const receiving = receive(b);
        while (bytes < budget) {
          const vector = VECTOR_SIZES.map((n) => randomBytes(Math.min(n, Math.max(0, budget - bytes))));
          for (const v of vector) hash.update(v);
          const size = vector.reduce((n, v) => n + v.length, 0);
          expectOk(await a.writev(vector), `writev ${calls} of ${size} bytes`);
          bytes += size;
          calls += 1;
          if (bytes < budget) {
            const single = randomBytes(Math.min(101, budget - bytes));
            hash.update(single);
            expectOk(await a.write(single), `write between writevs`);
            bytes += single.length;
          }
        }
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        expectSame(await receiving, { bytes, sha256: hash.digest('hex'), writes: calls }, 'eof', 'writev');
      },
    },
    {
      check: 'writev',
      title: 'writev of no buffers or only empty buffers resolves ok and sends nothing',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.writev([]), 'writev([])');
        expectOk(await a.writev([new Uint8Array(0), new Uint8Array(0)]), 'writev of empty buffers');
        expectOk(await a.write(new Uint8Array(0)), 'write of an empty buffer');
        expectOk(await a.write(Buffer.from('x')), 'write of one byte');
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        const got = await receive(b);
        expect(got.end).toBe('eof');
        expect(got.bytes).toBe(1);
      },
    },
    {
      check: 'writev',
      title: 'concurrent writev calls are not interleaved with each other',
      run: async ({ open }) => {
        const { a, b } = await open();
        const hash = createHash('sha256');
        const count = Math.max(2, Math.min(16, Math.floor(maxBytes / 70000)));
        const vectors = Array.from({ length: count }, (_, i) => [randomBytes(4093 + i), randomBytes(7), randomBytes(65537 - i)]);
        let bytes = 0;
        for (const v of vectors) {
          for (const buf of v) {
            hash.update(buf);
            bytes += buf.length;
          }
        }
        const receiving = receive(b);
        const results = await Promise.all(vectors.map((v) => a.writev(v)));
        results.forEach((r, i) => expectOk(r, `writev ${i}`));
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        expectSame(await receiving, { bytes, sha256: hash.digest('hex'), writes: vectors.length }, 'eof', 'concurrent writev');
      },
    },
  ];
}
