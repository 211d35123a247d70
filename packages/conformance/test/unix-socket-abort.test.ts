import { EOF } from '@flow/core';
import { unixPair } from './socket-pairs';

describe('fromDuplex over a Unix-domain socket', () => {
  // A Unix-domain socket cannot send a reset (resetAndDestroy refuses a pipe handle), so the
  // capability fromDuplex declares must be 'close': the peer sees a plain EOF.
  test('declares the abort its peer really observes', async () => {
    const { a, b, cleanup } = await unixPair({ trustDefaults: true });
    try {
      a.abort();
      let observed: 'rst' | 'close' | 'other' = 'other';
      for (;;) {
        const r = await b.read();
        if (!r.ok) {
          observed = r.error.kind === 'reset' ? 'rst' : 'other';
          break;
        }
        if (r.value === EOF) {
          observed = 'close';
          break;
        }
      }
      expect(observed).toBe(a.capabilities.abort);
    } finally {
      a.abort();
      b.abort();
      await cleanup?.();
    }
  });
});
