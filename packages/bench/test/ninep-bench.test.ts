import { formatNinepBench, runNinepBench } from '../src/ninep-bench';

const MIB = 1024 * 1024;

describe('9p bench (smoke: correctness only, never speed)', () => {
  test('diodcat reads the file byte-exact from diod and from our server, and diodload runs against both', async () => {
    const bytes = MIB + 17; // not a multiple of any msize: the last read is short
    const result = await runNinepBench({ bytes, msizes: [8192, 65536], runs: 1, threads: 1, loadSeconds: 1 });
    expect(result.reads.map((r) => `${r.msize} ${r.server}`)).toEqual([
      '8192 diod',
      '8192 flow',
      '8192 flow, 1 process',
      '8192 flow, syncReadMax 0',
      '65536 diod',
      '65536 flow',
      '65536 flow, 1 process',
      '65536 flow, syncReadMax 0',
    ]);
    for (const r of result.reads) {
      // The warm-up read was hashed: same length, same SHA-256 as the file.
      expect(r.verified).toBe(true);
      expect(r.seconds).toHaveLength(1);
      expect(r.mibps.best).toBeGreaterThan(0);
      // The server's RSS was sampled while it served (every server holds some memory).
      expect(r.serverRss).toBeGreaterThan(0);
    }
    expect(result.loads.map((l) => `${l.mode} ${l.server}`)).toEqual([
      'getattr diod',
      'getattr flow',
      'getattr flow, 1 process',
      'read diod',
      'read flow',
      'read flow, 1 process',
    ]);
    for (const l of result.loads) {
      expect(l.opsPerSecond.best).toBeGreaterThan(0);
      expect(l.serverRss).toBeGreaterThan(0);
      // Every server did the work on its own CPU; for ours in worker processes, that is the
      // workers' time, which counts (the primary that hands out connections does next to nothing).
      expect(l.serverCpu).toBeGreaterThan(0.01);
    }
    expect(result.servers.flow).toMatch(/in \d+ worker processes|one process/);
    for (const l of result.loads.filter((x) => x.mode === 'read')) expect(l.readMiBps).toBeGreaterThan(0);
    const text = formatNinepBench(result);
    expect(text).toContain('| -m 65536');
    expect(text).toContain('ours/diod');
    expect(text).toContain('CPU s/GiB');
    expect(text).toContain('RSS MiB');
  }, 90_000);
});
