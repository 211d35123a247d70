import { busyPollDefault } from '@flow/core';
import { spawn } from 'node:child_process';
import { allCpus, cpusOf, findTaskset, pinningUnavailable } from '../src/cpu-placement';
import { formatNinepBench, runNinepBench } from '../src/ninep-bench';

const MIB = 1024 * 1024;

describe('9p bench (smoke: correctness only, never speed)', () => {
  test('diodcat reads the file byte-exact from diod and from our server, and diodload runs against both', async () => {
    const bytes = MIB + 17; // not a multiple of any msize: the last read is short
    const result = await runNinepBench({ bytes, msizes: [8192, 65536], runs: 1, warmups: 2, threads: 1, loadSeconds: 1 });
    expect(result.reads.map((r) => `${r.msize} ${r.server}`)).toEqual([
      '8192 diod',
      '8192 flow',
      '8192 flow, 1 process',
      '8192 flow, busy poll 0',
      '8192 flow, syncReadMax 0',
      '65536 diod',
      '65536 flow',
      '65536 flow, 1 process',
      '65536 flow, busy poll 0',
      '65536 flow, syncReadMax 0',
    ]);
    expect(result.reads.every((r) => r.placement === undefined)).toBe(true);
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
      'getattr flow, busy poll 0',
      'read diod',
      'read flow',
      'read flow, 1 process',
      'read flow, busy poll 0',
    ]);
    for (const l of result.loads) {
      expect(l.opsPerSecond.best).toBeGreaterThan(0);
      expect(l.serverRss).toBeGreaterThan(0);
      // Every server did the work on its own CPU; for ours in worker processes, that is the
      // workers' time, which counts (the primary that hands out connections does next to nothing).
      expect(l.serverCpu).toBeGreaterThan(0.01);
    }
    expect(result.servers.flow).toMatch(/in \d+ worker processes|one process/);
    // Our server polls as `flow 9p serve` does by default on this machine; the `busy poll 0` row does not.
    expect(result.servers.flow).toContain(busyPollDefault() > 0 ? `busy poll up to ${busyPollDefault()} µs` : 'no busy poll');
    expect(result.servers['flow, busy poll 0']).toContain('no busy poll');
    for (const l of result.loads.filter((x) => x.mode === 'read')) expect(l.readMiBps).toBeGreaterThan(0);
    const text = formatNinepBench(result);
    expect(text).toContain('| -m 65536');
    expect(text).toContain('ours/diod');
    expect(text).toContain('CPU s/GiB');
    expect(text).toContain('RSS MiB');
    expect(text).toContain('after 2 warm-up read(s), the first verified');
    expect(text).toContain('CPU figures are means over the measured runs');
  }, 90_000);

  test('cpusOf reads the CPUs a process may use: what a pinned server is given back', async () => {
    const child = spawn(findTaskset()!, ['-c', '0', 'sleep', '5'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(cpusOf(child.pid!)).toBe('0');
      expect(cpusOf(process.pid)).toMatch(/^[0-9][0-9,-]*$/);
    } finally {
      child.kill();
    }
    // A process that is gone: every CPU, rather than nothing.
    expect(cpusOf(2 ** 22 + 1)).toBe(allCpus());
  });

  test('pinned rows: each server measured with client and server on one CPU and on two, its threads unpinned after', async () => {
    const unavailable = pinningUnavailable();
    // The CI machine has taskset and two CPUs; say so rather than pass quietly where it does not.
    expect(unavailable).toBeUndefined();
    const bytes = MIB;
    const result = await runNinepBench({
      bytes,
      msizes: [8192],
      runs: 1,
      threads: 1,
      loadSeconds: 1,
      noLoad: true,
      pinned: true,
      variants: [{ name: 'flow', workers: 2 }, { name: 'flow, syncReadMax 0', syncReadMax: 0, workers: 1, noPinned: true }],
      probeAffinity: true,
    });
    expect(result.reads.map((r) => `${r.placement ?? 'any'} ${r.server}`)).toEqual([
      'any diod',
      'any flow',
      'any flow, syncReadMax 0',
      'one CPU diod',
      'one CPU flow',
      'two CPUs diod',
      'two CPUs flow',
    ]);
    for (const r of result.reads) {
      expect(r.verified).toBe(true);
      expect(r.mibps.best).toBeGreaterThan(0);
    }
    // While pinned, every thread of each pinned server (diod's, and our primary's and workers')
    // was allowed CPU 0 only; afterwards each is back on the CPUs it was started with (this
    // process's, which it inherited).
    const probes = result.affinityProbes ?? [];
    expect(probes.map((p) => `${p.placement} ${p.server}`)).toEqual(['one CPU diod', 'one CPU flow', 'two CPUs diod', 'two CPUs flow', 'after diod', 'after flow']);
    for (const p of probes) {
      expect(p.threads).toBeGreaterThan(p.server === 'flow' ? 2 : 0);
      expect(p.cpuLists).toEqual([p.placement === 'after' ? cpusOf(process.pid) : '0']);
    }
    const text = formatNinepBench(result);
    expect(text).toMatch(/\| -m 8192 +\| +two CPUs \| +flow \|/);
    expect(text).toContain('server on CPU 0, client on CPU 1');
  }, 90_000);
});
