import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child';
import { startFlowProxy } from './hvsock-flow-cli';
import { measurePaths, type LoadClients, type MeasuredPath, type ProxyBenchOptions, type ProxyRow } from './hvsock-measure';
import { formatProxyTable } from './hvsock-table';
import { startLoopbackPeer, type PeerProcess } from './loopback-peer';
import type { BulkReply, PingReply } from './protocol';
import { findSocat, socatSkipReason } from './socat';

export interface HybridBenchOptions extends ProxyBenchOptions {
  /** Write a CPU profile of the flow proxy here (`node --cpu-prof`). */
  readonly profileDir?: string;
}

export interface HybridBenchResult {
  readonly options: HybridBenchOptions;
  readonly rows: readonly ProxyRow[];
}

/** The vsock port the fake VMM serves (Firecracker's examples use 52). */
export const HYBRID_GUEST_PORT = 52;
const MIB = 1024 * 1024;
const WARMUP_BYTES = 256 * MIB;

/**
 * TCP ↔ hybrid vsock on this machine: a client on 127.0.0.1 reaches a guest end behind a
 * Firecracker-style VMM socket through the real `flow proxy` command and through socat, and
 * straight over the Unix socket as the ceiling. See the README for what each row runs.
 */
export async function runHybridBench(options: HybridBenchOptions, log: (line: string) => void = () => undefined): Promise<HybridBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-bench-hybrid-'));
  const proxies: PeerProcess[] = [];
  let load: Child | undefined;
  try {
    load = await Child.start('hvsock-hybrid-process', [dir, String(HYBRID_GUEST_PORT)]);
    const vmm = join(dir, 'v.sock');
    const raw = join(dir, 'raw.sock');
    const paths: MeasuredPath[] = [{ name: 'direct', note: `client to the guest end over ${raw}, no proxy (one process runs both ends)`, to: { path: raw }, withChildren: false }];

    const targetUri = `hybrid-vsock://:${HYBRID_GUEST_PORT}${vmm}`;
    const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=flow-proxy-hybrid.cpuprofile'] : [];
    const flow = await startFlowProxy('tcp://127.0.0.1:0', targetUri, { nodeArgs: profile });
    proxies.push(flow);
    paths.push({ name: 'flow proxy', note: `flow proxy tcp://127.0.0.1:0 ${targetUri} (defaults)`, to: { port: flow.port }, pid: flow.process.pid, withChildren: false });

    const skipped: ProxyRow[] = [];
    const socat = options.noSocat ? undefined : findSocat();
    if (socat) {
      const s = await startLoopbackPeer(socat, (port) => [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${raw}`], { name: 'socat', captureStderr: true });
      proxies.push(s);
      paths.push({
        name: 'socat',
        note: `${socat} TCP-LISTEN:…,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${raw} (no handshake: socat cannot send CONNECT)`,
        to: { port: s.port },
        pid: s.process.pid,
        withChildren: true,
      });
    } else {
      const why = socatSkipReason(options.noSocat);
      skipped.push({ name: 'socat', note: why, skipped: why });
    }

    const child = load;
    const clients: LoadClients = {
      bulk: (r) => child.request<BulkReply>(r, 130_000),
      ping: (r) => child.request<PingReply>(r, 130_000),
    };
    const rows = await measurePaths(paths, clients, { ...options, warmupBytes: options.noWarmup ? 0 : WARMUP_BYTES }, log, 'hybrid');
    return { options, rows: [...rows, ...skipped] };
  } finally {
    for (const p of proxies) await p.stop();
    await load?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatHybridBench(result: HybridBenchResult): string {
  const { bytes, chunkSize, runs, pings } = result.options;
  const title =
    `hybrid vsock (Firecracker's CONNECT handshake) on this machine: TCP 127.0.0.1 → proxy → Unix socket → guest end; ` +
    `bulk ${bytes / MIB} MiB per run in ${chunkSize / 1024} KiB writes, best of ${runs}; ${Math.ceil(pings / runs) * runs} 1-byte round trips in ${runs} rounds`;
  return formatProxyTable(title, result.rows, [
    'flow pays one extra round trip per connection (`CONNECT 52\\n`, answered `OK <port>\\n`) that socat, on the plain socket, does not: this favours socat',
  ]);
}
