import type { ConformanceCase } from '../case';
import { expectErr, expectOk } from '../support/results';
import { receive } from '../support/transfer';

function expectNothingAccepted(bytesAccepted: number | undefined): void {
  expect(bytesAccepted ?? 0).toBe(0);
}

export function writeAfterCloseCases(): ConformanceCase[] {
  const base = { check: 'write-after-close' as const };
  return [
    {
      ...base,
      title: 'write and writev after shutdownWrite return closed and accept nothing',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.write(Buffer.from('abc')), 'write before shutdownWrite');
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        const before = a.stats.bytesAccepted;
        expectNothingAccepted(expectErr(await a.write(Buffer.from('late')), 'write after shutdownWrite', ['closed']).bytesAccepted);
        expectNothingAccepted(
          expectErr(await a.writev([Buffer.from('la'), Buffer.from('te')]), 'writev after shutdownWrite', ['closed']).bytesAccepted,
        );
        expect(a.stats.bytesAccepted).toBe(before);
        const got = await receive(b);
        expect(got.end).toBe('eof');
        expect(got.bytes).toBe(3);
      },
    },
    {
      ...base,
      title: 'write while close() is in progress returns closed',
      run: async ({ open }) => {
        const { a, b } = await open();
        const closing = a.close();
        expectErr(await a.write(Buffer.from('late')), 'write during close()', ['closed']);
        expectErr(await a.writev([Buffer.from('late')]), 'writev during close()', ['closed']);
        const got = await receive(b);
        expect(got.bytes).toBe(0);
        expect(got.end).toBe('eof');
        expectOk(await b.close(), 'b.close()');
        expectOk(await closing, 'a.close()');
      },
    },
    {
      ...base,
      title: 'write after close() resolved returns closed',
      run: async ({ open }) => {
        const { a, b } = await open();
        const [ca, cb] = await Promise.all([a.close(), b.close()]);
        expectOk(ca, 'a.close()');
        expectOk(cb, 'b.close()');
        expectErr(await a.write(Buffer.from('late')), 'a.write after close', ['closed']);
        expectErr(await b.writev([Buffer.from('late')]), 'b.writev after close', ['closed']);
        expect(a.stats.bytesAccepted).toBe(0);
      },
    },
  ];
}
