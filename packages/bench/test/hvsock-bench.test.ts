import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint } from '../src/child';
import { startHybridGuestEnd } from '../src/hvsock-fake-vmm';
import { formatHybridBench, runHybridBench } from '../src/hvsock-hybrid-bench';
import type { ProxyRow } from '../src/hvsock-measure';
import { formatVsockBench, runVsockBench } from '../src/hvsock-vsock-bench';

const MIB = 1024 * 1024;

/** Every row moved the bytes intact (verify hashes them end to end) and answered every ping. */
function expectMeasured(rows: readonly ProxyRow[], names: readonly string[], bytes: number, pings: number): void {
  expect(rows.map((r) => r.name)).toEqual(names);
  for (const row of rows) {
    expect(row.skipped).toBeUndefined();
    expect(row.bulk).toHaveLength(1);
    expect(row.bulk?.[0].bytes).toBe(bytes);
    expect(row.bulk?.[0].digestMatches).toBe(true);
    expect(row.gbps?.best).toBeGreaterThan(0);
    expect(row.ping?.count).toBe(pings);
    expect(row.ping?.p50us).toBeGreaterThan(0);
    expect(row.ping?.p99us).toBeGreaterThanOrEqual(row.ping?.p50us ?? Infinity);
  }
  for (const row of rows.filter((r) => r.name !== 'direct')) expect(row.bulkPeakRss).toBeGreaterThan(0);
}

describe('hvsock benches (smoke: correctness only, never speed)', () => {
  test('hybrid: direct, the flow command through the fake VMM handshake, and socat all carry the transfer intact and answer every ping', async () => {
    const bytes = MIB + 777;
    const result = await runHybridBench({ bytes, chunkSize: 64 * 1024, runs: 1, pings: 50, verify: true, noWarmup: true });
    expectMeasured(result.rows, ['direct', 'flow proxy', 'socat'], bytes, 50);
    expect(result.rows[1].note).toMatch(/^flow proxy tcp:\/\/127\.0\.0\.1:0 hybrid-vsock:\/\/:52\/.*\/v\.sock /);
    const table = formatHybridBench(result);
    expect(table).toContain('| flow proxy');
    expect(table).toMatch(/flow proxy \/ socat: throughput [0-9.]+x/);
  }, 40_000);

  test('vsock: one user-mode Linux boot runs the flow command and socat over AF_VSOCK (CID 1) and reports both', async () => {
    const bytes = 2 * MIB + 333;
    const result = await runVsockBench({ bytes, chunkSize: 64 * 1024, runs: 1, pings: 30, verify: true, noWarmup: true });
    expect(result.skipped).toBeUndefined();
    expectMeasured(result.rows, ['flow proxy', 'socat'], bytes, 30);
    expect(result.rows[0].note).toMatch(/^flow proxy tcp:\/\/127\.0\.0\.1:0 vsock:\/\/1:[0-9]+ /);
    // It ran in the guest: one CPU, the UML kernel, and a boot that ended.
    expect(result.guest?.cpus).toBe(1);
    expect(result.umlSeconds).toBeGreaterThan(0);
    expect(formatVsockBench(result)).toContain('| socat');
  }, 60_000);

  test("the fake VMM answers Firecracker's CONNECT for its port with OK <n>, n in [2^30, 2^31), then echoes; other ports are closed unanswered", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-bench-vmm-'));
    const guest = await startHybridGuestEnd(dir, 52);
    // Sends `text` in one write and collects everything until the server closes or `until` matches.
    const exchange = (text: string, until: RegExp): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = connect({ path: guest.vmmPath });
        let got = '';
        s.on('error', reject);
        s.on('data', (d: Buffer) => {
          got += d.toString('latin1');
          if (until.test(got)) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('close', () => resolve(got));
        s.write(text);
      });
    try {
      // The echo's mode byte and a payload come in the same write as the line: nothing is lost.
      const answer = await exchange('CONNECT 52\nEhello', /hello$/);
      const m = /^OK ([0-9]+)\nhello$/.exec(answer);
      expect(m).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(2 ** 30);
      expect(Number(m?.[1])).toBeLessThan(2 ** 31);
      expect(await exchange('CONNECT 53\n', /never/)).toBe('');
      expect(await exchange('GET / HTTP/1.0\r\n\r\n', /never/)).toBe('');
    } finally {
      await guest.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the guest half refuses to run outside user-mode Linux (it would connect over AF_VSOCK)', () => {
    const work = mkdtempSync(join(tmpdir(), 'flow-bench-guest-'));
    try {
      const r = spawnSync(process.execPath, [entryPoint('hvsock-uml-guest'), work], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('runs only inside user-mode Linux');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
