import { findHaproxy } from '../src/haproxy';
import { formatTcpBench, runTcpBench } from '../src/tcp-bench';

const MIB = 1024 * 1024;

describe('tcp bench (smoke: correctness only, never speed)', () => {
  test('every path carries the bulk transfer intact, answers every ping and survives slow receivers', async () => {
    const bytes = MIB + 777;
    const result = await runTcpBench({
      bytes,
      chunkSize: 64 * 1024,
      runs: 1,
      pings: 50,
      slowSeconds: 0.3,
      slowConnections: 2,
      verify: true,
      noWarmup: true,
    });
    const measured = result.rows.filter((r) => !r.skipped);
    const expected = ['direct loopback', 'flow command', 'flow command --copy-mode splice', 'flow command --no-fast-copy', 'flow proxy', 'naive node proxy', ...(findHaproxy() ? ['haproxy', 'haproxy splice'] : [])];
    expect(measured.map((r) => r.name)).toEqual(expect.arrayContaining(expected));
    for (const row of measured) {
      expect(row.bulk).toHaveLength(1);
      expect(row.bulk?.[0].bytes).toBe(bytes);
      expect(row.bulk?.[0].digestMatches).toBe(true);
      expect(row.ping?.count).toBe(50);
      expect(row.slow?.sent).toBeGreaterThan(0);
    }
    for (const row of measured.filter((r) => r.name !== 'direct loopback')) {
      expect(row.idleRss).toBeGreaterThan(0);
      // CPU is counted for every proxy process (0 is possible for so small a transfer).
      expect(row.cpuPerGiB).toBeGreaterThanOrEqual(0);
    }
    expect(formatTcpBench(result)).toContain('| naive node proxy');
  }, 60_000);
});
