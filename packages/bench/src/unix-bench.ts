import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child';
import { startFlowProxy } from './hvsock-flow-cli';
import { measurePaths, type LoadClients, type MeasuredPath, type ProxyBenchOptions, type ProxyRow } from './hvsock-measure';
import type { PeerProcess } from './loopback-peer';
import type { BulkReply, PingReply } from './protocol';
import { findSocat, socatSkipReason, startSocatFromUnix, startSocatToUnix } from './socat';
import { spreadPercent } from './summary';
import { fixed, markdownTable, ratio } from './table';

export type UnixBenchOptions = ProxyBenchOptions;

/** Which way the bytes cross between the two kinds of socket. */
export type UnixDirection = 'tcp-to-unix' | 'unix-to-tcp';

export interface UnixBenchSection {
  readonly direction: UnixDirection;
  readonly rows: readonly ProxyRow[];
}

export interface UnixBenchResult {
  readonly options: UnixBenchOptions;
  readonly sections: readonly UnixBenchSection[];
}

const MIB = 1024 * 1024;
const WARMUP_BYTES = 256 * MIB;

/** Something that runs while its direction is measured. */
interface Running {
  stop(): Promise<void>;
}

function childProcess(child: Child): Running & { readonly pid: number } {
  return { pid: child.pid, stop: () => child.stop() };
}

/**
 * Unix-domain sockets bridged to TCP, both ways, through the same proxies: `flow proxy` as users
 * run it (defaults: the native copy engine) and with `--no-fast-copy`, the naive Node pipe proxy,
 * and socat; a direct connection to the target is the ceiling. One load process holds the target
 * (on 127.0.0.1 and on a Unix socket) and the clients; every proxy runs in its own process, whose
 * CPU time per GiB is measured.
 */
export async function runUnixBench(options: UnixBenchOptions, log: (line: string) => void = () => undefined): Promise<UnixBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-bench-unix-'));
  const running: Running[] = [];
  let load: Child | undefined;
  try {
    const target = join(dir, 'target.sock');
    load = await Child.start('load-process', [target]);
    const targetPort = load.ready.port;
    const child = load;
    const clients: LoadClients = {
      bulk: (r) => child.request<BulkReply>(r, 130_000),
      ping: (r) => child.request<PingReply>(r, 130_000),
    };
    const socat = options.noSocat ? undefined : findSocat();
    const socatSkipped = socatSkipReason(options.noSocat);
    const measure = { ...options, warmupBytes: options.noWarmup ? 0 : WARMUP_BYTES, cpu: true };
    const started = (p: PeerProcess): PeerProcess => {
      running.push(p);
      return p;
    };
    const sections: UnixBenchSection[] = [];

    // TCP clients → proxy → the Unix-domain target.
    {
      const paths: MeasuredPath[] = [{ name: 'direct', note: `client to the target over ${target}, no proxy`, to: { path: target }, withChildren: false }];
      const targetUri = `unix://${target}`;
      for (const [name, flags] of [
        ['flow proxy', []],
        ['flow proxy --no-fast-copy', ['--no-fast-copy']],
      ] as const) {
        const flow = started(await startFlowProxy('tcp://127.0.0.1:0', targetUri, { flowArgs: flags }));
        paths.push({ name, note: `flow proxy tcp://127.0.0.1:0 ${targetUri} ${flags.join(' ')}`.trim(), to: { port: flow.port }, pid: flow.process.pid, withChildren: false });
      }
      const naive = await Child.start('proxy-process', ['naive', `unix:${target}`]);
      running.push(childProcess(naive));
      paths.push({ name: 'naive node proxy', note: 'node:net pipe both ways (TCP in, Unix out)', to: { port: naive.ready.port }, pid: naive.pid, withChildren: false });
      const skipped: ProxyRow[] = [];
      if (socat) {
        const s = started(await startSocatToUnix(socat, target));
        paths.push({ name: 'socat', note: `${socat} TCP-LISTEN:…,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${target}`, to: { port: s.port }, pid: s.process.pid, withChildren: true });
      } else {
        skipped.push({ name: 'socat', note: socatSkipped, skipped: socatSkipped });
      }
      const rows = await measurePaths(paths, clients, measure, log, 'unix tcp→unix');
      sections.push({ direction: 'tcp-to-unix', rows: [...rows, ...skipped] });
      for (const r of running.splice(0)) await r.stop();
    }

    // Unix-domain clients → proxy → the TCP target.
    {
      const paths: MeasuredPath[] = [{ name: 'direct', note: `client to the target on 127.0.0.1:${targetPort}, no proxy`, to: { port: targetPort }, withChildren: false }];
      const targetUri = `tcp://127.0.0.1:${targetPort}`;
      for (const [name, file, flags] of [
        ['flow proxy', 'flow.sock', []],
        ['flow proxy --no-fast-copy', 'flow-pure.sock', ['--no-fast-copy']],
      ] as const) {
        const listenUri = `unix://${join(dir, file)}`;
        const flow = started(await startFlowProxy(listenUri, targetUri, { flowArgs: flags }));
        paths.push({ name, note: `flow proxy ${listenUri} ${targetUri} ${flags.join(' ')}`.trim(), to: { path: flow.path ?? '' }, pid: flow.process.pid, withChildren: false });
      }
      const naivePath = join(dir, 'naive.sock');
      const naive = await Child.start('proxy-process', ['naive', String(targetPort), `unix:${naivePath}`]);
      running.push(childProcess(naive));
      paths.push({ name: 'naive node proxy', note: 'node:net pipe both ways (Unix in, TCP out)', to: { path: naivePath }, pid: naive.pid, withChildren: false });
      const skipped: ProxyRow[] = [];
      if (socat) {
        const socatPath = join(dir, 'socat.sock');
        const s = started(await startSocatFromUnix(socat, socatPath, targetPort));
        paths.push({ name: 'socat', note: `${socat} UNIX-LISTEN:${socatPath},fork TCP:127.0.0.1:${targetPort}`, to: { path: socatPath }, pid: s.process.pid, withChildren: true });
      } else {
        skipped.push({ name: 'socat', note: socatSkipped, skipped: socatSkipped });
      }
      const rows = await measurePaths(paths, clients, measure, log, 'unix unix→tcp');
      sections.push({ direction: 'unix-to-tcp', rows: [...rows, ...skipped] });
    }
    return { options, sections };
  } finally {
    for (const r of running.splice(0)) await r.stop();
    await load?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TITLES: Record<UnixDirection, string> = {
  'tcp-to-unix': 'TCP client (127.0.0.1) → proxy → Unix-domain socket server',
  'unix-to-tcp': 'Unix-domain socket client → proxy → TCP server (127.0.0.1)',
};

/** One table per direction: throughput, the proxy's CPU per GiB and round trips, each as ratios to socat and to the naive proxy. */
export function formatUnixBench(result: UnixBenchResult): string {
  const { bytes, chunkSize, runs, pings } = result.options;
  const head =
    `Unix-domain sockets ↔ TCP through a proxy: bulk ${fixed(bytes / MIB, 0)} MiB per run in ${chunkSize / 1024} KiB writes, best of ${runs}; ` +
    `${Math.ceil(pings / runs) * runs} 1-byte round trips in ${runs} rounds; CPU = user + system seconds of the proxy process per GiB moved`;
  const tables = result.sections.map((section) => {
    const rows = section.rows;
    const socat = rows.find((r) => r.name === 'socat' && !r.skipped);
    const naive = rows.find((r) => r.name === 'naive node proxy' && !r.skipped);
    const table = markdownTable(
      ['path', 'Gbit/s best', 'worst', 'spread', 'vs socat', 'vs naive', 'CPU s/GiB', 'CPU vs socat', 'CPU vs naive', 'p50 µs', 'p99 µs', 'p50 vs socat', 'RSS bulk MiB'],
      rows.map((r) =>
        r.skipped
          ? [r.name, 'skipped', '', '', '', '', '', '', '', '', '', '', '']
          : [
              r.name,
              fixed(r.gbps?.best, 2),
              fixed(r.gbps?.worst, 2),
              r.gbps ? `${fixed(spreadPercent(r.gbps), 0)}%` : 'n/a',
              ratio(r.gbps?.best, socat?.gbps?.best),
              ratio(r.gbps?.best, naive?.gbps?.best),
              fixed(r.cpuPerGiB, 2),
              ratio(r.cpuPerGiB, socat?.cpuPerGiB),
              ratio(r.cpuPerGiB, naive?.cpuPerGiB),
              fixed(r.ping?.p50us),
              fixed(r.ping?.p99us),
              ratio(r.ping?.p50us, socat?.ping?.p50us),
              r.bulkPeakRss === undefined ? 'n/a' : fixed(r.bulkPeakRss / MIB, 0),
            ],
      ),
    );
    const lines = rows.map((r) => `- ${r.name}: ${r.skipped ?? r.note}`);
    return `${TITLES[section.direction]}\n\n${table}\n\n${lines.join('\n')}`;
  });
  return [head, ...tables].join('\n\n');
}
