import { parseSize, positionals, Settings } from '../src/options';

describe('settings', () => {
  test('sizes take binary and decimal units', () => {
    expect(parseSize('64KiB')).toBe(65536);
    expect(parseSize('512MiB')).toBe(512 * 1024 * 1024);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1e6')).toBe(1_000_000);
    expect(() => parseSize('lots')).toThrow(RangeError);
  });

  test('arguments win over environment variables, which win over defaults', () => {
    const s = new Settings(['--runs=5', 'core'], { BENCH_RUNS: '2', BENCH_CORE_BYTES: '1MiB' });
    expect(s.count('runs', 3)).toBe(5);
    expect(s.size('core-bytes', 7)).toBe(1024 * 1024);
    expect(s.size('tcp-bytes', 7)).toBe(7);
    expect(positionals(['--runs=5', 'core'])).toEqual(['core']);
  });
});
