import { Duplex, PassThrough } from 'node:stream';
import { EOF, fromDuplex } from '@flow/core';

describe('fromDuplex', () => {
  // Node keeps a reference to a written Buffer until the write callback runs; the adapter must
  // not resolve a write before that, or a caller reusing the buffer changes bytes still queued.
  test('a buffer refilled after its write resolved does not change the bytes the peer reads', async () => {
    const forward = new PassThrough();
    const backward = new PassThrough();
    const a = fromDuplex(Duplex.from({ readable: backward, writable: forward }));
    const b = fromDuplex(Duplex.from({ readable: forward, writable: backward }));
    try {
      const buffer = Buffer.alloc(100, 0x01);
      expect((await a.write(buffer)).ok).toBe(true);
      buffer.fill(0x09);
      const r = await b.read();
      if (!r.ok || r.value === EOF) throw new Error('no data');
      expect(Buffer.from(r.value).every((x) => x === 0x01)).toBe(true);
    } finally {
      a.abort();
      b.abort();
    }
  });
});
