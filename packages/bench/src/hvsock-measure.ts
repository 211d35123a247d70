import { summarisePings } from './load-clients';
import type { BulkReply, BulkRequest, Destination, PingReply, PingRequest } from './protocol';
import { cpuSecondsOf } from './cpu';
import { PeakSampler, treeRss } from './rss';
import { spread, type Spread } from './summary';
import { fixed } from './table';

/** Clients that push bulk data and ping through a path (in a load child, or in this process). */
export interface LoadClients {
  bulk(request: BulkRequest): Promise<BulkReply>;
  ping(request: PingRequest): Promise<PingReply>;
}

/** One way from the clients to the guest end: straight, or through a proxy. */
export interface MeasuredPath {
  readonly name: string;
  /** What runs there (the command line of the proxy). */
  readonly note: string;
  readonly to: Destination;
  /** The proxy's process, whose memory is sampled; none for a direct path. */
  readonly pid?: number;
  /** Count the process's children too (socat forks one per connection). */
  readonly withChildren: boolean;
}

/** What the proxy sections (`unix`, `hybrid`, `vsock`) are told: the same knobs for each. */
export interface ProxyBenchOptions {
  /** Bytes one bulk transfer pushes through a single connection. */
  readonly bytes: number;
  readonly chunkSize: number;
  /** Measured bulk runs per path (best-of) and ping rounds. */
  readonly runs: number;
  /** 1-byte round trips per path. */
  readonly pings: number;
  readonly verify?: boolean;
  readonly noSocat?: boolean;
  readonly noWarmup?: boolean;
}

export interface MeasureOptions {
  readonly bytes: number;
  readonly chunkSize: number;
  /** Measured bulk runs per path (best-of), and the number of ping rounds. */
  readonly runs: number;
  /** 1-byte round trips per path, spread over `runs` rounds. */
  readonly pings: number;
  /** Hash every bulk transfer end to end. */
  readonly verify?: boolean;
  /** Bytes of the one warm-up transfer per path before the measured ones; 0 for none. */
  readonly warmupBytes: number;
  /** No single request may take longer than this. */
  readonly requestTimeoutMs?: number;
  /** Also measure the CPU time the proxy process (`pid`, with its waited-for children) spends per GiB of the bulk runs. */
  readonly cpu?: boolean;
}

/** Round-trip figures without the samples (rows cross process and machine boundaries as JSON). */
export type PingSummary = Omit<PingReply, 'samples'>;

/** One row of the hybrid or vsock table. */
export interface ProxyRow {
  readonly name: string;
  readonly note: string;
  /** Why the row is missing (socat not installed, left out). */
  readonly skipped?: string;
  readonly gbps?: Spread;
  readonly bulk?: readonly BulkReply[];
  readonly ping?: PingSummary;
  /** Peak resident memory of the proxy (with socat's forked children) during the bulk runs, in bytes. */
  readonly bulkPeakRss?: number;
  /** With `MeasureOptions.cpu`: CPU seconds (user + system) of the proxy process per GiB of the bulk runs. */
  readonly cpuPerGiB?: number;
}

const GIB = 1024 * 1024 * 1024;

export function gbps(r: BulkReply): number {
  return (r.bytes * 8) / r.seconds / 1e9;
}

/**
 * Measures every path the same way, in the same run: one warm-up transfer each, then `runs` bulk
 * transfers and `runs` ping-pong rounds, with the paths taking turns so that noise from other work
 * spreads over all of them. Throws when a transfer loses, adds or changes bytes.
 */
export async function measurePaths(
  paths: readonly MeasuredPath[],
  clients: LoadClients,
  options: MeasureOptions,
  log: (line: string) => void,
  section: string,
): Promise<ProxyRow[]> {
  const timeoutMs = options.requestTimeoutMs ?? 130_000;
  const rssOf = (p: MeasuredPath): number | undefined => (p.pid === undefined ? undefined : treeRss(p.pid, p.withChildren));
  const bulkRequest = (p: MeasuredPath, bytes: number, verify: boolean): BulkRequest => ({
    ...p.to,
    cmd: 'bulk',
    bytes,
    chunkSize: options.chunkSize,
    verify,
  });
  const within = <T>(what: string, promise: Promise<T>): Promise<T> => bounded(promise, timeoutMs, what);

  if (options.warmupBytes > 0) {
    for (const p of paths) await within(`${p.name} warm-up`, clients.bulk(bulkRequest(p, Math.min(options.bytes, options.warmupBytes), false)));
  }
  const bulkRuns = new Map<string, BulkReply[]>(paths.map((p) => [p.name, []]));
  const bulkPeak = new Map<string, number>();
  const bulkCpu = new Map<string, number>();
  const cpuOf = (p: MeasuredPath): number | undefined => (options.cpu && p.pid !== undefined ? cpuSecondsOf(p.pid) : undefined);
  for (let round = 0; round < options.runs; round += 1) {
    for (const p of paths) {
      const sampler = new PeakSampler(() => rssOf(p));
      const cpuBefore = cpuOf(p);
      const r = await within(`${p.name} bulk`, clients.bulk(bulkRequest(p, options.bytes, options.verify ?? false)));
      bulkPeak.set(p.name, Math.max(bulkPeak.get(p.name) ?? 0, sampler.stop()));
      const cpuAfter = cpuOf(p);
      if (cpuBefore !== undefined && cpuAfter !== undefined) bulkCpu.set(p.name, (bulkCpu.get(p.name) ?? 0) + cpuAfter - cpuBefore);
      if (r.bytes !== options.bytes) throw new Error(`${section} ${p.name}: the sink got ${r.bytes} bytes of ${options.bytes}`);
      if (r.digestMatches === false) throw new Error(`${section} ${p.name}: the sink's SHA-256 differs from the sender's`);
      bulkRuns.get(p.name)?.push(r);
      log(`  ${section} ${p.name} bulk run ${round + 1}: ${fixed(gbps(r), 2)} Gbit/s`);
    }
  }

  const pingSamples = new Map<string, number[]>(paths.map((p) => [p.name, []]));
  const perRound = Math.ceil(options.pings / options.runs);
  for (let round = 0; round < options.runs; round += 1) {
    for (const p of paths) {
      const warmup = round === 0 ? Math.min(500, options.pings) : 50;
      const r = await within(`${p.name} ping-pong`, clients.ping({ ...p.to, cmd: 'ping', count: perRound, warmup }));
      pingSamples.get(p.name)?.push(...r.samples);
      log(`  ${section} ${p.name} ping-pong round ${round + 1}: p50 ${fixed(r.p50us)} µs, p99 ${fixed(r.p99us)} µs`);
    }
  }

  return paths.map((p) => {
    const runs = bulkRuns.get(p.name) ?? [];
    const { samples: _samples, ...ping } = summarisePings(pingSamples.get(p.name) ?? []);
    return {
      name: p.name,
      note: p.note,
      gbps: runs.length > 0 ? spread(runs.map(gbps)) : undefined,
      bulk: runs,
      ping,
      bulkPeakRss: p.pid === undefined ? undefined : bulkPeak.get(p.name),
      ...(bulkCpu.has(p.name) && runs.length > 0 ? { cpuPerGiB: (bulkCpu.get(p.name) ?? 0) / ((runs.length * options.bytes) / GIB) } : {}),
    };
  });
}

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
