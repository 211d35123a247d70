import { createHash } from 'node:crypto';
import { EOF } from '@flow/core';
import type { ConformanceCase } from '../case';
import { expectErr, expectOk } from '../support/results';
import { MiB, pieces, randomBytes } from '../support/transfer';

export function statsCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'stats' as const };
  return [
    {
      ...base,
      title: 'stats agree with the bytes and operations written and read',
      run: async ({ open }) => {
        const { a, b } = await open();
        const total = Math.min(maxBytes, MiB + 9);
        const sizes = pieces(total);
        const inHash = createHash('sha256');
        const outHash = createHash('sha256');
        let reads = 0;
        let readBytes = 0;
        const reading = (async () => {
          for (;;) {
            const r = await b.read();
            const v = expectOk(r, 'read');
            if (v === EOF) return;
            reads += 1;
            readBytes += v.length;
            inHash.update(v);
          }
        })();
        let calls = 0;
        for (let i = 0; i < sizes.length; i += 1) {
          const buf = randomBytes(sizes[i]);
          outHash.update(buf);
          calls += 1;
          // Every third piece goes as a two-buffer writev, which counts as one operation or two.
          if (i % 3 === 2 && buf.length > 1) {
            expectOk(await a.writev([buf.subarray(0, 1), buf.subarray(1)]), 'writev');
          } else {
            expectOk(await a.write(buf), 'write');
          }
        }
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        await reading;
        expect(inHash.digest('hex')).toBe(outHash.digest('hex'));
        const sa = a.stats;
        const sb = b.stats;
        if (sa.bytesAccepted !== total) throw new Error(`stats.bytesAccepted is ${sa.bytesAccepted}, ${total} bytes were accepted`);
        if (sb.bytesRead !== total) throw new Error(`stats.bytesRead is ${sb.bytesRead}, ${total} bytes were read`);
        expect(sa.writeOps).toBeGreaterThan(0);
        expect(sa.writeOps).toBeLessThanOrEqual(calls * 2);
        expect(sb.bytesRead).toBe(readBytes);
        expect(sb.bytesRead).toBe(total);
        expect(sb.readOps).toBe(reads);
        // Nothing went the other way.
        expect(sa.bytesRead).toBe(0);
        expect(sb.bytesAccepted).toBe(0);
        if (sa.bytesFlushed !== undefined) expect(sa.bytesFlushed).toBeLessThanOrEqual(sa.bytesAccepted);
        expect(sa.firstWriteAt).toBeDefined();
        expect(sa.openedAt).toBeLessThanOrEqual(sa.firstWriteAt ?? -1);
        expect(sa.firstWriteAt ?? Infinity).toBeLessThanOrEqual(sa.lastWriteAt ?? -1);
        expect(sb.firstReadAt ?? Infinity).toBeLessThanOrEqual(sb.lastReadAt ?? -1);
      },
    },
    {
      ...base,
      title: 'a refused write is not counted as accepted',
      run: async ({ open }) => {
        const { a } = await open();
        expectOk(await a.write(Buffer.from('12345')), 'write');
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        expectErr(await a.write(Buffer.from('678')), 'write after shutdownWrite', ['closed']);
        expect(a.stats.bytesAccepted).toBe(5);
        expect(a.stats.writeOps).toBe(1);
      },
    },
  ];
}
