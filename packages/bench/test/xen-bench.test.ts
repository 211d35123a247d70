import { formatXenBench, runXenBench } from '../src/xen-bench';

const KIB = 1024;

describe('xen bench (smoke: correctness only, never speed)', () => {
  test('every row moves its bytes intact and yields numbers: throughput, notifications, ring samples, round trips', async () => {
    const bytes = 256 * KIB + 77;
    const limitedBytes = 16 * KIB + 5;
    const result = await runXenBench({ bytes, limitedBytes, chunkSize: 64 * KIB, runs: 1, pings: 50, limitedPings: 40, verify: true, noWarmup: true });
    expect(result.transfers.map((t) => [t.direction, t.limit, t.pausedReader])).toEqual([
      ['guest → dom0', 'lifted', false],
      ['guest → dom0', 'lifted', true],
      ['dom0 → guest', 'lifted', false],
      ['guest → dom0', 'default', false],
      ['dom0 → guest', 'default', false],
    ]);
    for (const t of result.transfers) {
      expect(t.runs).toHaveLength(1);
      const [run] = t.runs;
      // verify: each run already compared the SHA-256 at both ends, and threw otherwise.
      expect(run.bytes).toBe(t.limit === 'lifted' ? bytes : limitedBytes);
      expect(t.mibPerSecond.best).toBeGreaterThan(0);
      // Moving data takes notifications from both ends, and the sampler ran.
      for (const n of [run.dom0Events, run.dom0Notifies, run.guestEvents, run.guestNotifies]) expect(n).toBeGreaterThan(0);
      expect(run.watch.samples).toBeGreaterThan(0);
      expect(run.watch.stalled).toBeLessThanOrEqual(run.watch.waiting);
      expect(run.watch.longestStallMs).toBeGreaterThanOrEqual(0);
      expect(run.watch.longStalls).toBeLessThanOrEqual(run.watch.stalled);
    }
    expect(result.pings.map((p) => [p.limit, p.count])).toEqual([
      ['lifted', 50],
      ['default', 40],
    ]);
    for (const p of result.pings) {
      expect(p.guestToDom0.p50us).toBeGreaterThan(0);
      expect(p.guestToDom0.p99us).toBeGreaterThanOrEqual(p.guestToDom0.p50us);
      // The round trip contains the guest's write → dom0's read.
      expect(p.roundTrip.p50us).toBeGreaterThanOrEqual(p.guestToDom0.p50us);
    }
    const table = formatXenBench(result);
    expect(table).toContain('| guest → dom0 (out, 2 KiB), paused reader');
    expect(table).toMatch(/target at full speed \(rate limit lifted\): ≤ 1\.00 notification per KiB from dom0: guest → dom0 [0-9.]+ \((met|missed)/);
    expect(table).toMatch(/the share expected from this run's 1-byte round trips is the guest → dom0 part of a round trip: [0-9.]+ of [0-9.]+ µs \(p50\), [0-9]+%/);
    expect(table).not.toContain('NaN');
  }, 60_000);
});
