import { EOF, formatBytes, formatStats, pair, rate, StatsRecorder, type FlowStats } from '../src';

function statsAt(openedAt: number, fields: Partial<FlowStats>): FlowStats {
  return {
    bytesRead: 0,
    readOps: 0,
    bytesAccepted: 0,
    writeOps: 0,
    bytesFlushed: undefined,
    openedAt,
    firstReadAt: undefined,
    lastReadAt: undefined,
    firstWriteAt: undefined,
    lastWriteAt: undefined,
    ...fields,
  };
}

describe('formatStats', () => {
  test('a small transfer over a short time prints a non-zero float rate (unlike mirage\'s integer pp_stats)', () => {
    // 10 bytes in 2 ms: mirage divides 10 by 2 000 000 ns and prints 0.
    const line = formatStats(statsAt(1000, { bytesRead: 10, readOps: 1, bytesAccepted: 3, writeOps: 3 }), 1002);
    expect(line).toBe(
      'read 10 B in 1 ops (4.88 KiB/s, 500.0 ops/s); wrote 3 B in 3 ops (1.46 KiB/s, 1500.0 ops/s); over 0.002 s',
    );
  });

  test('a slow rate below one byte per second keeps its digits instead of printing 0', () => {
    const line = formatStats(statsAt(0, { bytesRead: 1, readOps: 1 }), 4000);
    expect(line).toContain('(0.250 B/s, 0.250 ops/s)');
  });

  test('no elapsed time prints n/a instead of dividing by zero', () => {
    const line = formatStats(statsAt(5, { bytesRead: 1, readOps: 1 }), 5);
    expect(line).toContain('n/a');
    expect(line).not.toContain('Infinity');
    expect(line).not.toContain('NaN');
  });

  test('prints the real counters of a flow after a transfer', async () => {
    const [a, b] = pair();
    await a.write(Buffer.alloc(2048));
    const r = await b.read();
    expect(r.ok && r.value !== EOF).toBe(true);
    expect(formatStats(a.stats)).toMatch(/^read 0 B in 0 ops .*; wrote 2\.00 KiB in 1 ops \(/);
    expect(formatStats(b.stats)).toMatch(/^read 2\.00 KiB in 1 ops \(/);
  });
});

describe('formatBytes and rate', () => {
  test('formatBytes uses binary units and two decimals above 1 KiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(16 * 1024 * 1024)).toBe('16.00 MiB');
    expect(formatBytes(1.5)).toBe('1.50 B');
    expect(formatBytes(0.004)).toBe('0.00400 B');
  });

  test('rate is a float in bytes per second, and 0 without a time span', () => {
    expect(rate(10, 0, 2)).toBeCloseTo(5000, 6);
    expect(rate(1, 0, 3000)).toBeCloseTo(1 / 3, 9);
    expect(rate(10, 5, 5)).toBe(0);
    expect(rate(10, undefined, 5)).toBe(0);
  });
});

describe('StatsRecorder', () => {
  test('records reads, writes and flushed bytes, with first and last times in order', () => {
    const s = new StatsRecorder();
    expect(s.snapshot().bytesFlushed).toBeUndefined();
    s.recordRead(3);
    s.recordRead(4);
    s.recordWrite(10, 2);
    s.recordFlushed(6);
    const snap = s.snapshot();
    expect([snap.bytesRead, snap.readOps, snap.bytesAccepted, snap.writeOps, snap.bytesFlushed]).toEqual([7, 2, 10, 2, 6]);
    expect(snap.firstReadAt).toBeGreaterThanOrEqual(snap.openedAt);
    expect(snap.lastReadAt).toBeGreaterThanOrEqual(snap.firstReadAt ?? Infinity);
    expect(snap.lastWriteAt).toBeGreaterThanOrEqual(snap.firstWriteAt ?? Infinity);
  });
});
