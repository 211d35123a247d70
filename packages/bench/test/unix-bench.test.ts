import { findSocat } from '../src/socat';
import { formatUnixBench, runUnixBench } from '../src/unix-bench';

const MIB = 1024 * 1024;

describe('unix bench (smoke: correctness only, never speed)', () => {
  test('both directions: every path carries the bulk transfer intact and answers every ping, with the proxy CPU counted', async () => {
    const bytes = MIB + 777;
    const result = await runUnixBench({ bytes, chunkSize: 64 * 1024, runs: 1, pings: 50, verify: true, noWarmup: true });
    expect(result.sections.map((s) => s.direction)).toEqual(['tcp-to-unix', 'unix-to-tcp']);
    const names = ['direct', 'flow proxy', 'flow proxy --no-fast-copy', 'naive node proxy', ...(findSocat() ? ['socat'] : [])];
    for (const section of result.sections) {
      const measured = section.rows.filter((r) => !r.skipped);
      expect(measured.map((r) => r.name)).toEqual(names);
      for (const row of measured) {
        expect(row.bulk).toHaveLength(1);
        expect(row.bulk?.[0].bytes).toBe(bytes);
        expect(row.bulk?.[0].digestMatches).toBe(true);
        expect(row.ping?.count).toBe(50);
      }
      for (const row of measured.filter((r) => r.name !== 'direct')) {
        expect(row.bulkPeakRss).toBeGreaterThan(0);
        // CPU is counted for every proxy process (0 is possible for so small a transfer).
        expect(row.cpuPerGiB).toBeGreaterThanOrEqual(0);
      }
      expect(measured.find((r) => r.name === 'direct')?.cpuPerGiB).toBeUndefined();
    }
    // The flow rows run the command users run, with Unix URIs on the right side.
    const [tcpToUnix, unixToTcp] = result.sections;
    expect(tcpToUnix.rows[1].note).toMatch(/^flow proxy tcp:\/\/127\.0\.0\.1:0 unix:\/\/\/.*\/target\.sock$/);
    expect(unixToTcp.rows[2].note).toMatch(/^flow proxy unix:\/\/\/.*\/flow-pure\.sock tcp:\/\/127\.0\.0\.1:[0-9]+ --no-fast-copy$/);
    const table = formatUnixBench(result);
    expect(table).toContain('TCP client (127.0.0.1) → proxy → Unix-domain socket server');
    expect(table).toContain('Unix-domain socket client → proxy → TCP server (127.0.0.1)');
    expect(table).toContain('| flow proxy --no-fast-copy');
  }, 90_000);
});
