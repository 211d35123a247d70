import { CORE_VARIANTS, formatCoreBench, runCoreBench } from '../src/core-bench';

const MIB = 1024 * 1024;

describe('core bench (smoke: correctness only, never speed)', () => {
  test('every variant delivers all the bytes, in order, with the sender’s SHA-256', async () => {
    const bytes = MIB + 12345; // not a multiple of the chunk size: the last chunk is short
    const result = await runCoreBench({ bytes, chunkSize: 64 * 1024, runs: 1, verify: true, noWarmup: true });
    expect(result.variants.map((v) => v.variant)).toEqual(CORE_VARIANTS);
    expect(result.expectedDigest).toMatch(/^[0-9a-f]{64}$/);
    for (const v of result.variants) {
      expect(v.runs).toHaveLength(1);
      expect(v.runs[0].bytes).toBe(bytes);
      expect(v.runs[0].digest).toBe(result.expectedDigest);
    }
    expect(formatCoreBench(result)).toContain('| flow proxy');
  });

  test('odd chunk sizes arrive intact too', async () => {
    const result = await runCoreBench({ bytes: 300_001, chunkSize: 4097, runs: 1, verify: true, noWarmup: true, only: ['flow copy', 'flow proxy'] });
    for (const v of result.variants) expect(v.runs[0].digest).toBe(result.expectedDigest);
  });
});
