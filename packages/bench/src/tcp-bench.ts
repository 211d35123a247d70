import { Child } from './child';
import { cpuSecondsOf } from './cpu';
import { findHaproxy, startHaproxy } from './haproxy';
import { startFlowProxy } from './hvsock-flow-cli';
import { summarisePings } from './load-clients';
import type { BulkReply, PingReply, SlowReply } from './protocol';
import { PeakSampler, treeRss } from './rss';
import { findSocat, startSocat } from './socat';
import { spread, spreadPercent, type Spread } from './summary';
import { fixed, markdownTable, ratio } from './table';

export interface TcpBenchOptions {
  /** Bytes one bulk transfer pushes through a single connection. */
  readonly bytes: number;
  readonly chunkSize: number;
  /** Measured bulk runs per path (best-of), after one smaller warm-up transfer. */
  readonly runs: number;
  /** 1-byte round trips per path (after a few hundred not counted). */
  readonly pings: number;
  /** How long fast senders push into slow receivers while proxy memory is sampled. */
  readonly slowSeconds: number;
  readonly slowConnections?: number;
  /** Hash every transfer end to end (smoke tests). */
  readonly verify?: boolean;
  /** Leave socat out even when it is installed. */
  readonly noSocat?: boolean;
  /** Leave haproxy out even when it is installed. */
  readonly noHaproxy?: boolean;
  readonly noWarmup?: boolean;
  /** Write a CPU profile of each Node proxy process into this directory (`node --cpu-prof`). */
  readonly profileDir?: string;
}

export type TcpPathName = 'direct loopback' | 'flow command' | 'flow command --copy-mode splice' | 'flow command --no-fast-copy' | 'flow proxy' | 'naive node proxy' | 'socat' | 'haproxy' | 'haproxy splice';

export interface TcpRow {
  readonly name: TcpPathName;
  /** What runs there (e.g. which TCP implementation our proxy used), or why it was skipped. */
  readonly note: string;
  readonly skipped?: boolean;
  readonly gbps?: Spread;
  readonly bulk?: readonly BulkReply[];
  readonly ping?: PingReply;
  /** CPU seconds (user + system) the proxy process spent per GiB of the measured bulk runs. */
  readonly cpuPerGiB?: number;
  /** RSS of the proxy process (with its children for socat), in bytes. */
  readonly idleRss?: number;
  readonly bulkPeakRss?: number;
  readonly slowPeakRss?: number;
  readonly slow?: SlowReply;
}

export interface TcpBenchResult {
  readonly options: TcpBenchOptions;
  readonly rows: readonly TcpRow[];
}

interface Path {
  readonly name: TcpPathName;
  readonly note: string;
  readonly port: number;
  /** The process whose memory is the proxy's; none for direct loopback. */
  readonly pid?: number;
  readonly withChildren: boolean;
  stop(): Promise<void>;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const WARMUP_BYTES = 256 * MIB;

function gbps(r: BulkReply): number {
  return (r.bytes * 8) / r.seconds / 1e9;
}

/** Starts every proxy, adding each to `paths` as soon as it runs, so that a failure midway stops those already started. */
async function startPaths(targetPort: number, options: TcpBenchOptions, paths: Path[], skipped: TcpRow[]): Promise<void> {
  paths.push({ name: 'direct loopback', note: 'client to sink, no proxy', port: targetPort, withChildren: false, stop: async () => undefined });
  // What users run: the flow command with its defaults.
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=flow-command.cpuprofile'] : [];
  const command = await startFlowProxy('tcp://127.0.0.1:0', `tcp://127.0.0.1:${targetPort}`, { nodeArgs: profile });
  paths.push({
    name: 'flow command',
    note: `flow proxy tcp://127.0.0.1:0 tcp://127.0.0.1:${targetPort} (defaults: the native copy engine of @flow/fast-copy)`,
    port: command.port,
    pid: command.process.pid,
    withChildren: false,
    stop: () => command.stop(),
  });
  // The engine in its splice mode: the bytes never enter the process.
  const spliceProfile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=flow-command-splice.cpuprofile'] : [];
  const splice = await startFlowProxy('tcp://127.0.0.1:0', `tcp://127.0.0.1:${targetPort}`, { nodeArgs: spliceProfile, flowArgs: ['--copy-mode', 'splice'] });
  paths.push({
    name: 'flow command --copy-mode splice',
    note: `flow proxy tcp://127.0.0.1:0 tcp://127.0.0.1:${targetPort} --copy-mode splice (the native engine through a kernel pipe)`,
    port: splice.port,
    pid: splice.process.pid,
    withChildren: false,
    stop: () => splice.stop(),
  });
  // The same command on its pure TypeScript path, where the native engine cannot be used.
  const pureProfile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=flow-command-pure.cpuprofile'] : [];
  const pure = await startFlowProxy('tcp://127.0.0.1:0', `tcp://127.0.0.1:${targetPort}`, { nodeArgs: pureProfile, flowArgs: ['--no-fast-copy'] });
  paths.push({
    name: 'flow command --no-fast-copy',
    note: `flow proxy tcp://127.0.0.1:0 tcp://127.0.0.1:${targetPort} --no-fast-copy (the pure TypeScript path)`,
    port: pure.port,
    pid: pure.process.pid,
    withChildren: false,
    stop: () => pure.stop(),
  });
  for (const [name, kind] of [
    ['flow proxy', 'flow'],
    ['naive node proxy', 'naive'],
  ] as const) {
    const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${kind}-proxy.cpuprofile`] : [];
    const child = await Child.start('proxy-process', [kind, String(targetPort)], profile);
    paths.push({
      name,
      note: child.ready.implementation ?? kind,
      port: child.ready.port,
      pid: child.pid,
      withChildren: false,
      stop: () => child.stop(),
    });
  }
  const socat = options.noSocat ? undefined : findSocat();
  if (socat) {
    const s = await startSocat(socat, targetPort);
    paths.push({
      name: 'socat',
      note: `${socat} TCP-LISTEN:…,fork,reuseaddr TCP:127.0.0.1:…`,
      port: s.port,
      pid: s.process.pid,
      withChildren: true,
      stop: () => s.stop(),
    });
  } else {
    const why = options.noSocat ? 'left out (noSocat)' : 'skipped: socat is not installed (apt-get install -y socat)';
    skipped.push({ name: 'socat', note: why, skipped: true });
  }
  const haproxy = options.noHaproxy ? undefined : findHaproxy();
  for (const splice of [false, true]) {
    const name = splice ? 'haproxy splice' : 'haproxy';
    if (!haproxy) {
      const why = options.noHaproxy ? 'left out (noHaproxy)' : 'skipped: haproxy is not installed (apt-get install -y haproxy)';
      skipped.push({ name, note: why, skipped: true });
      continue;
    }
    const h = await startHaproxy(haproxy, targetPort, splice);
    paths.push({
      name,
      note: `${haproxy} -db, mode tcp${splice ? ', option splice-auto' : ''}`,
      port: h.port,
      pid: h.process.pid,
      withChildren: false,
      stop: () => h.stop(),
    });
  }
}

export async function runTcpBench(options: TcpBenchOptions, log: (line: string) => void = () => undefined): Promise<TcpBenchResult> {
  const load = await Child.start('load-process', []);
  const skipped: TcpRow[] = [];
  const paths: Path[] = [];
  try {
    await startPaths(load.ready.port, options, paths, skipped);
    const rssOf = (p: Path): number | undefined => (p.pid === undefined ? undefined : treeRss(p.pid, p.withChildren));
    const idle = new Map(paths.map((p) => [p.name, rssOf(p)]));
    const bulkRuns = new Map<TcpPathName, BulkReply[]>(paths.map((p) => [p.name, []]));
    const bulkPeak = new Map<TcpPathName, number>();
    const bulkCpu = new Map<TcpPathName, number>();
    const bulkTimeout = 130_000;

    if (!options.noWarmup) {
      for (const p of paths) {
        await load.request<BulkReply>(
          { cmd: 'bulk', port: p.port, bytes: Math.min(options.bytes, WARMUP_BYTES), chunkSize: options.chunkSize, verify: false },
          bulkTimeout,
        );
      }
    }
    // Paths take turns, so that noise from other work on the machine spreads over all of them.
    for (let round = 0; round < options.runs; round += 1) {
      for (const p of paths) {
        const sampler = new PeakSampler(() => rssOf(p));
        const cpuBefore = p.pid === undefined ? undefined : cpuSecondsOf(p.pid);
        const r = await load.request<BulkReply>(
          { cmd: 'bulk', port: p.port, bytes: options.bytes, chunkSize: options.chunkSize, verify: options.verify ?? false },
          bulkTimeout,
        );
        bulkPeak.set(p.name, Math.max(bulkPeak.get(p.name) ?? 0, sampler.stop()));
        const cpuAfter = p.pid === undefined ? undefined : cpuSecondsOf(p.pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined) bulkCpu.set(p.name, (bulkCpu.get(p.name) ?? 0) + cpuAfter - cpuBefore);
        if (r.bytes !== options.bytes) throw new Error(`${p.name}: the sink got ${r.bytes} bytes of ${options.bytes}`);
        if (r.digestMatches === false) throw new Error(`${p.name}: the sink's SHA-256 differs from the sender's`);
        bulkRuns.get(p.name)?.push(r);
        log(`  tcp ${p.name} bulk run ${round + 1}: ${fixed(gbps(r), 2)} Gbit/s`);
      }
    }

    // Ping-pong in rounds that take turns too, so that a burst of other work hits every path alike.
    const pingSamples = new Map<TcpPathName, number[]>(paths.map((p) => [p.name, []]));
    const perRound = Math.ceil(options.pings / options.runs);
    for (let round = 0; round < options.runs; round += 1) {
      for (const p of paths) {
        const r = await load.request<PingReply>(
          { cmd: 'ping', port: p.port, count: perRound, warmup: round === 0 ? Math.min(500, options.pings) : 50 },
          130_000,
        );
        pingSamples.get(p.name)?.push(...r.samples);
        log(`  tcp ${p.name} ping-pong round ${round + 1}: p50 ${fixed(r.p50us)} µs, p99 ${fixed(r.p99us)} µs`);
      }
    }
    const pings = new Map<TcpPathName, PingReply>(paths.map((p) => [p.name, summarisePings(pingSamples.get(p.name) ?? [])]));

    const slowPeak = new Map<TcpPathName, number>();
    const slow = new Map<TcpPathName, SlowReply>();
    for (const p of paths) {
      const sampler = new PeakSampler(() => rssOf(p), 50);
      const r = await load.request<SlowReply>(
        {
          cmd: 'slow',
          port: p.port,
          connections: options.slowConnections ?? 8,
          seconds: options.slowSeconds,
          chunkSize: options.chunkSize,
        },
        options.slowSeconds * 1000 + 30_000,
      );
      slowPeak.set(p.name, sampler.stop());
      slow.set(p.name, r);
      log(`  tcp ${p.name} slow receiver: sent ${fixed(r.sent / MIB)} MiB, read ${fixed(r.received / MIB)} MiB`);
    }

    const rows: TcpRow[] = paths.map((p) => {
      const runs = bulkRuns.get(p.name) ?? [];
      return {
        name: p.name,
        note: p.note,
        gbps: runs.length > 0 ? spread(runs.map(gbps)) : undefined,
        bulk: runs,
        cpuPerGiB: bulkCpu.has(p.name) && runs.length > 0 ? (bulkCpu.get(p.name) ?? 0) / ((runs.length * options.bytes) / GIB) : undefined,
        ping: pings.get(p.name),
        idleRss: idle.get(p.name),
        bulkPeakRss: p.pid === undefined ? undefined : bulkPeak.get(p.name),
        slowPeakRss: p.pid === undefined ? undefined : slowPeak.get(p.name),
        slow: slow.get(p.name),
      };
    });
    return { options, rows: [...rows, ...skipped] };
  } finally {
    for (const p of paths) await p.stop();
    await load.stop();
  }
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : fixed(bytes / MIB, 0);
}

export function formatTcpBench(result: TcpBenchResult): string {
  const { bytes, chunkSize, runs, pings, slowSeconds, slowConnections } = result.options;
  const naive = result.rows.find((r) => r.name === 'naive node proxy');
  // haproxy at its best (plain or splice): the proxy people pick when speed matters.
  const haproxyRows = result.rows.filter((r) => !r.skipped && (r.name === 'haproxy' || r.name === 'haproxy splice'));
  const haproxyBest = haproxyRows.reduce<TcpRow | undefined>((a, b) => ((a?.gbps?.best ?? 0) >= (b.gbps?.best ?? 0) ? a : b), undefined);
  const haproxyCpu = haproxyRows.map((r) => r.cpuPerGiB).filter((c): c is number => c !== undefined);
  const leastHaproxyCpu = haproxyCpu.length > 0 ? Math.min(...haproxyCpu) : undefined;
  const title =
    `tcp loopback: bulk ${bytes / MIB} MiB per run in ${chunkSize / 1024} KiB writes, best of ${runs}; ` +
    `${Math.ceil(pings / runs) * runs} 1-byte round trips in ${runs} rounds; slow receivers: ${slowConnections ?? 8} connections for ${slowSeconds} s`;
  const table = markdownTable(
    [
      'path',
      'Gbit/s best',
      'worst',
      'spread',
      'vs naive',
      'vs haproxy',
      'CPU s/GiB',
      'CPU vs haproxy',
      'p50 µs',
      'p99 µs',
      'p50 vs naive',
      'p99 vs naive',
      'RSS idle MiB',
      'RSS bulk MiB',
      'RSS slow-rx MiB',
    ],
    result.rows.map((r) =>
      r.skipped
        ? [r.name, 'skipped', '', '', '', '', '', '', '', '', '', '', '', '', '']
        : [
            r.name,
            fixed(r.gbps?.best, 2),
            fixed(r.gbps?.worst, 2),
            r.gbps ? `${fixed(spreadPercent(r.gbps), 0)}%` : 'n/a',
            ratio(r.gbps?.best, naive?.gbps?.best),
            ratio(r.gbps?.best, haproxyBest?.gbps?.best),
            fixed(r.cpuPerGiB, 2),
            ratio(r.cpuPerGiB, leastHaproxyCpu),
            fixed(r.ping?.p50us),
            fixed(r.ping?.p99us),
            ratio(r.ping?.p50us, naive?.ping?.p50us),
            ratio(r.ping?.p99us, naive?.ping?.p99us),
            mib(r.idleRss),
            mib(r.bulkPeakRss),
            mib(r.slowPeakRss),
          ],
    ),
  );
  const notes = result.rows.map((r) => `- ${r.name}: ${r.note}`).join('\n');
  return `${title}\n\n${table}\n\n${notes}`;
}
