import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child';
import { findTool, runTool, startDiod } from './ninep-diod';
import type { NinepServerConfig } from './ninep-server-process';
import { treeCpuSeconds } from './cpu';
import { allCpus, cpusOf, onCpus, pinningUnavailable, pinProcessTree, PINNED_PLACEMENTS, type Placement, treeAffinity, type TreeAffinity } from './cpu-placement';
import { PeakSampler, treeRss } from './rss';
import { mean, spread, spreadPercent, type Spread } from './summary';
import { fixed, markdownTable, ratio } from './table';

export interface NinepBenchOptions {
  /** Size of the file diodcat reads. */
  readonly bytes: number;
  /** msizes diodcat asks for (diod 1.0.24 negotiates at most 65536). */
  readonly msizes: readonly number[];
  /** Measured runs per row (best-of), after the warm-up reads. */
  readonly runs: number;
  /**
   * Unmeasured diodcat reads of the file from each server before the measured runs at each
   * msize, the first of them verified (default DEFAULT_WARMUPS). Our server's processes reach
   * their steady speed only once V8 has compiled the request path, some thousands of requests
   * into each worker process; a server runs for far longer than that, so that is the speed to
   * compare. diod gets the same reads.
   */
  readonly warmups?: number;
  /** diodload threads (each its own connection). */
  readonly threads: number;
  /** diodload run time per measurement, in seconds (whole seconds: diodload's `-r`). */
  readonly loadSeconds: number;
  /** Leave out the diodload rows (smoke tests of the read path only). */
  readonly noLoad?: boolean;
  /** Write a CPU profile of our server process into this directory (`node --cpu-prof`). */
  readonly profileDir?: string;
  /** Our server variants; default DEFAULT_VARIANTS. */
  readonly variants?: readonly FlowVariant[];
  /**
   * Also measure diodcat with client and server pinned (PINNED_PLACEMENTS): apart from where the
   * scheduler puts them. Skipped, with the reason in the result, where pinning is not possible.
   */
  readonly pinned?: boolean;
  /** Record where the pinned servers' threads may run, while pinned and after (for the tests). */
  readonly probeAffinity?: boolean;
}

/** `diod`, or the name of one of our server variants (`flow` is ours with its defaults). */
export type NinepServer = string;

/** One configuration of our server, run in a process of its own. */
export interface FlowVariant {
  readonly name: string;
  /** `exportDirectory`'s `syncReadMax`; its default when absent. */
  readonly syncReadMax?: number;
  /** Nagle's algorithm off (default true). */
  readonly noDelay?: boolean;
  /** Leave this variant out of the diodload rows (they use the synthetic tree, not the export). */
  readonly noLoad?: boolean;
  /** Worker processes (`flow 9p serve --workers`); its default when absent. */
  readonly workers?: number;
  /** Leave this variant out of the pinned diodcat rows. */
  readonly noPinned?: boolean;
  /** `flow 9p serve --busy-poll`: the longest window in microseconds; its default when absent. */
  readonly busyPollMicros?: number;
}

/**
 * Our server with its defaults (worker processes as `flow 9p serve` starts them, reads of up to
 * 64 KiB by pread on the event loop, busy polling after replies), in one process, without busy
 * polling, and with every read through the thread pool.
 */
export const DEFAULT_VARIANTS: readonly FlowVariant[] = [
  { name: 'flow' },
  { name: 'flow, 1 process', workers: 1 },
  { name: 'flow, busy poll 0', busyPollMicros: 0 },
  { name: 'flow, syncReadMax 0', syncReadMax: 0, noLoad: true, noPinned: true },
];

export interface ReadRow {
  readonly msize: number;
  readonly server: NinepServer;
  /** Where client and server were pinned (a PINNED_PLACEMENTS name); absent: wherever the scheduler put them. */
  readonly placement?: string;
  /** Wall-clock seconds of each measured `diodcat` (process start to exit). */
  readonly seconds: readonly number[];
  /** Best-of as MiB/s. */
  readonly mibps: Spread;
  /**
   * Server CPU seconds (user + system, all threads) per measured run, the mean over all of them:
   * the kernel counts CPU time in ticks of 10 ms, a few percent of one run, so one run's figure
   * is too coarse to compare servers by.
   */
  readonly serverCpu?: number;
  /** The server's peak resident set size over the measured runs, in bytes. */
  readonly serverRss?: number;
  /** The first warm-up read delivered exactly the file's bytes (length and SHA-256). */
  readonly verified: boolean;
}

export type LoadMode = 'getattr' | 'read';

export interface LoadRow {
  readonly mode: LoadMode;
  readonly server: NinepServer;
  readonly opsPerSecond: Spread;
  /** diodload's rMB/s (MiB/s) of the best run; 0 for getattr. */
  readonly readMiBps: number;
  /** Server CPU seconds (user + system, all threads) per measured run, the mean over all of them. */
  readonly serverCpu?: number;
  /** Operations per second over all measured runs (the CPU figures are per operation of these). */
  readonly meanOpsPerSecond?: number;
  /** diodload's rMB/s (MiB/s) over all measured runs; 0 for getattr. */
  readonly meanReadMiBps?: number;
  /** The server's peak resident set size over the measured runs, in bytes. */
  readonly serverRss?: number;
}

export interface NinepBenchResult {
  readonly options: NinepBenchOptions;
  /** What each server is (diod's path and version, our transport). */
  readonly servers: Readonly<Record<NinepServer, string>>;
  readonly reads: readonly ReadRow[];
  readonly loads: readonly LoadRow[];
  /** Why the pinned rows are missing although asked for. */
  readonly pinnedSkipped?: string;
  /** With `probeAffinity`: each pinned server's threads while pinned (per placement) and `after`. */
  readonly affinityProbes?: readonly AffinityProbe[];
}

export interface AffinityProbe extends TreeAffinity {
  /** A PINNED_PLACEMENTS name, or `after` once the pinned rows are done. */
  readonly placement: string;
  readonly server: NinepServer;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const FILE = 'big.bin';
/** How often a server's RSS is sampled during a measured run (its peak is reported). */
const RSS_SAMPLE_MS = 20;
/** The longest one diodcat may take (a 200 MiB read takes seconds). */
const CAT_TIMEOUT_MS = 120_000;
/**
 * Warm-up reads per msize: with the default 200 MiB file, enough for each of our two worker
 * processes to serve some thousands of reads before the measured runs.
 */
export const DEFAULT_WARMUPS = 4;

interface Running {
  readonly name: NinepServer;
  readonly port: number;
  readonly pid: number | undefined;
  /** Whether diodload runs against it too. */
  readonly load: boolean;
  /** Whether it is measured pinned too. */
  readonly pinned: boolean;
  stop(): Promise<void>;
}

/** Writes `bytes` of random data to `path` and returns its SHA-256. */
function writeRandomFile(path: string, bytes: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let left = bytes; left > 0; ) {
      const block = randomBytes(Math.min(left, 8 * MIB));
      hash.update(block);
      writeSync(fd, block);
      left -= block.length;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** One diodcat of the file with its output hashed: proves the bytes, warms the page cache. */
function verifiedCat(diodcat: string, args: readonly string[], timeoutMs: number): Promise<{ code: number; bytes: number; digest: string; stderr: string }> {
  return new Promise((resolve) => {
    const cp = spawn(diodcat, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    cp.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    cp.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => cp.kill('SIGKILL'), timeoutMs);
    cp.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, bytes, digest: hash.digest('hex'), stderr });
    });
  });
}

/** diodcat's arguments for reading the bench file from the server on `port` at `msize`. */
function catArgs(exportDir: string, msize: number): (port: number) => string[] {
  return (port) => ['-s', `127.0.0.1:${port}`, '-a', exportDir, '-m', String(msize), FILE];
}

/** One timed diodcat with its output thrown away by the kernel (/dev/null), so the parent adds no work. */
function timedCat(diodcat: string, args: readonly string[], timeoutMs: number, cpuList?: string): Promise<{ code: number; seconds: number }> {
  const run = cpuList === undefined ? { command: diodcat, args: [...args] } : onCpus(cpuList, diodcat, args);
  const sink = openSync('/dev/null', 'w');
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    const cp = spawn(run.command, run.args, { stdio: ['ignore', sink, 'ignore'] });
    closeSync(sink);
    const timer = setTimeout(() => cp.kill('SIGKILL'), timeoutMs);
    cp.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
    });
  });
}

/**
 * `options.runs` timed diodcats of the file at `msize` from each server, servers taking turns run
 * by run; the client on `placement.client` when pinned (the caller pins the servers). One row per
 * server: its best time, and the CPU its processes spent in that run.
 */
async function timedCats(
  diodcat: string,
  servers: readonly Running[],
  args: (port: number) => string[],
  msize: number,
  options: NinepBenchOptions,
  verified: ReadonlyMap<NinepServer, boolean>,
  placement: Placement | undefined,
  log: (line: string) => void,
): Promise<ReadRow[]> {
  const seconds = new Map<NinepServer, number[]>(servers.map((s) => [s.name, []]));
  const cpu = new Map<NinepServer, number[]>(servers.map((s) => [s.name, []]));
  const rss = new Map<NinepServer, number>();
  const where = placement === undefined ? '' : ` (${placement.name})`;
  for (let round = 0; round < options.runs; round += 1) {
    for (const s of servers) {
      const before = treeCpuSeconds(s.pid);
      const sampler = new PeakSampler(() => (s.pid === undefined ? undefined : treeRss(s.pid, true)), RSS_SAMPLE_MS);
      const r = await timedCat(diodcat, args(s.port), CAT_TIMEOUT_MS, placement?.client);
      rss.set(s.name, Math.max(rss.get(s.name) ?? 0, sampler.stop()));
      const after = treeCpuSeconds(s.pid);
      if (r.code !== 0) throw new Error(`${s.name}: diodcat -m ${msize}${where} exited with ${r.code}`);
      seconds.get(s.name)?.push(r.seconds);
      cpu.get(s.name)?.push(before !== undefined && after !== undefined ? after - before : NaN);
      log(`  9p diodcat -m ${msize}${where} ${s.name} run ${round + 1}: ${fixed(r.seconds, 3)} s, ${fixed(options.bytes / MIB / r.seconds)} MiB/s`);
    }
  }
  return servers.map((s) => {
    const secs = seconds.get(s.name) ?? [];
    const c = mean(cpu.get(s.name) ?? []);
    return {
      msize,
      server: s.name,
      ...(placement === undefined ? {} : { placement: placement.name }),
      seconds: secs,
      mibps: spread(secs.map((x) => options.bytes / MIB / x)),
      ...(c !== undefined && Number.isFinite(c) ? { serverCpu: c } : {}),
      ...(rss.get(s.name) ? { serverRss: rss.get(s.name) } : {}),
      verified: verified.get(s.name) ?? false,
    };
  });
}

/**
 * diod and our server, each exporting the same temporary directory (holding one random file of
 * `bytes`) and a synthetic `ctl` tree, measured by the same clients in one run: diodcat reading
 * the file at each msize, diodload getattr and read loads. Servers take turns run by run, so
 * that noise from other work on the machine spreads over both.
 */
export async function runNinepBench(options: NinepBenchOptions, log: (line: string) => void = () => undefined): Promise<NinepBenchResult> {
  const diod = findTool('diod');
  const diodcat = findTool('diodcat');
  const diodload = findTool('diodload');
  if (!diod || !diodcat || !diodload) throw new Error('the 9p bench needs diod, diodcat and diodload (apt-get install -y diod)');
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'flow-bench-9p-')));
  const exportDir = join(dir, 'export');
  const running: Running[] = [];
  const warmups = Math.max(1, options.warmups ?? DEFAULT_WARMUPS);
  try {
    mkdirSync(exportDir);
    const digest = writeRandomFile(join(exportDir, FILE), options.bytes);
    log(`  9p: wrote ${fixed(options.bytes / MIB)} MiB to the export`);

    const d = await startDiod(diod, exportDir, join(dir, 'diod.log'));
    running.push({ name: 'diod', port: d.port, pid: d.process.pid, stop: () => d.stop(), load: true, pinned: true });
    const servers: Record<NinepServer, string> = {
      diod: `${diod} -f -n -N -e <dir> -e ctl (ctl:version ${(await readCtlVersion(diodcat, d.port)) || 'unknown'})`,
    };
    const variants = options.variants ?? DEFAULT_VARIANTS;
    for (const [i, v] of variants.entries()) {
      const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=ninep-server-${i}.cpuprofile`] : [];
      const config: NinepServerConfig = {
        ...(v.syncReadMax === undefined ? {} : { syncReadMax: v.syncReadMax }),
        ...(v.workers === undefined ? {} : { workers: v.workers }),
        ...(v.busyPollMicros === undefined ? {} : { busyPollMicros: v.busyPollMicros }),
        noDelay: v.noDelay ?? true,
      };
      const ours = await Child.start('ninep-server-process', [exportDir, JSON.stringify(config)], profile);
      running.push({ name: v.name, port: ours.ready.port, pid: ours.pid, stop: () => ours.stop(), load: !v.noLoad, pinned: !v.noPinned });
      const sync = v.syncReadMax === undefined ? 'default syncReadMax' : `syncReadMax ${v.syncReadMax}`;
      servers[v.name] = `${ours.ready.implementation ?? 'serve9p'}, exportDirectory ${sync}`;
    }

    const reads: ReadRow[] = [];
    for (const msize of options.msizes) {
      const args = catArgs(exportDir, msize);
      const verified = new Map<NinepServer, boolean>();
      for (const s of running) {
        const r = await verifiedCat(diodcat, args(s.port), CAT_TIMEOUT_MS);
        const good = r.code === 0 && r.bytes === options.bytes && r.digest === digest;
        if (!good) throw new Error(`${s.name}: diodcat -m ${msize} got ${r.bytes} bytes of ${options.bytes} (exit ${r.code}, digest ${r.digest === digest ? 'equal' : 'differs'}) ${r.stderr.trim()}`);
        verified.set(s.name, good);
      }
      for (let round = 1; round < warmups; round += 1) {
        for (const s of running) {
          const r = await timedCat(diodcat, args(s.port), CAT_TIMEOUT_MS);
          if (r.code !== 0) throw new Error(`${s.name}: warm-up diodcat -m ${msize} exited with ${r.code}`);
        }
      }
      reads.push(...(await timedCats(diodcat, running, args, msize, options, verified, undefined, log)));
    }
    let pinnedSkipped: string | undefined;
    const probes: AffinityProbe[] = [];
    if (options.pinned) {
      pinnedSkipped = pinningUnavailable();
      const pinnable = running.filter((s) => s.pinned);
      // Each server goes back to the CPUs it was started with.
      const unpinned = new Map(pinnable.map((s) => [s.name, s.pid === undefined ? allCpus() : cpusOf(s.pid)]));
      const probeAll = (label: string): void => {
        if (options.probeAffinity) for (const s of pinnable) if (s.pid !== undefined) probes.push({ placement: label, server: s.name, ...treeAffinity(s.pid) });
      };
      for (const placement of pinnedSkipped === undefined ? PINNED_PLACEMENTS : []) {
        try {
          for (const s of pinnable) if (s.pid !== undefined) await pinProcessTree(s.pid, placement.server);
          probeAll(placement.name);
          for (const msize of options.msizes) {
            const args = catArgs(exportDir, msize);
            const verified = new Map(reads.filter((r) => r.msize === msize).map((r) => [r.server, r.verified]));
            reads.push(...(await timedCats(diodcat, pinnable, args, msize, options, verified, placement, log)));
          }
        } finally {
          for (const s of pinnable) if (s.pid !== undefined) await pinProcessTree(s.pid, unpinned.get(s.name) ?? allCpus());
        }
      }
      if (pinnedSkipped === undefined) probeAll('after');
    }

    const loads: LoadRow[] = [];
    if (!options.noLoad) {
      const loaded = running.filter((s) => s.load);
      for (const mode of ['getattr', 'read'] as const) {
        const ops = new Map<NinepServer, number[]>(loaded.map((s) => [s.name, []]));
        const mbs = new Map<NinepServer, number[]>(loaded.map((s) => [s.name, []]));
        const cpu = new Map<NinepServer, number[]>(loaded.map((s) => [s.name, []]));
        const rss = new Map<NinepServer, number>();
        const loadArgs = (s: Running, seconds: number): string[] => ['-s', `127.0.0.1:${s.port}`, '-n', String(options.threads), '-r', String(seconds), ...(mode === 'getattr' ? ['-g'] : [])];
        // One unmeasured second per server first, so that the request path of this load is compiled.
        for (const s of loaded) {
          const r = await runTool(diodload, loadArgs(s, 1), 31_000);
          if (r.code !== 0) throw new Error(`${s.name}: warm-up diodload ${loadArgs(s, 1).join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
        }
        for (let round = 0; round < options.runs; round += 1) {
          for (const s of loaded) {
            const args = loadArgs(s, options.loadSeconds);
            const before = treeCpuSeconds(s.pid);
            const sampler = new PeakSampler(() => (s.pid === undefined ? undefined : treeRss(s.pid, true)), RSS_SAMPLE_MS);
            const r = await runTool(diodload, args, options.loadSeconds * 1000 + 30_000);
            rss.set(s.name, Math.max(rss.get(s.name) ?? 0, sampler.stop()));
            const after = treeCpuSeconds(s.pid);
            const m = /([0-9.]+) ops\/s, ([0-9.]+) rMB\/s/.exec(r.stderr);
            if (r.code !== 0 || !m) throw new Error(`${s.name}: diodload ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
            ops.get(s.name)?.push(Number(m[1]));
            mbs.get(s.name)?.push(Number(m[2]));
            cpu.get(s.name)?.push(before !== undefined && after !== undefined ? after - before : NaN);
            log(`  9p diodload ${mode} ${s.name} run ${round + 1}: ${m[1]} ops/s, ${m[2]} rMB/s`);
          }
        }
        for (const s of loaded) {
          const o = ops.get(s.name) ?? [];
          const best = o.indexOf(Math.max(...o));
          const c = mean(cpu.get(s.name) ?? []);
          loads.push({
            mode,
            server: s.name,
            opsPerSecond: spread(o),
            readMiBps: mbs.get(s.name)?.[best] ?? 0,
            meanOpsPerSecond: mean(o) ?? 0,
            meanReadMiBps: mean(mbs.get(s.name) ?? []) ?? 0,
            ...(c !== undefined && Number.isFinite(c) ? { serverCpu: c } : {}),
            ...(rss.get(s.name) ? { serverRss: rss.get(s.name) } : {}),
          });
        }
      }
    }
    return { options, servers, reads, loads, ...(pinnedSkipped === undefined ? {} : { pinnedSkipped }), ...(options.probeAffinity ? { affinityProbes: probes } : {}) };
  } finally {
    for (const s of running) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readCtlVersion(diodcat: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const cp = spawn(diodcat, ['-s', `127.0.0.1:${port}`, '-a', 'ctl', 'version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    cp.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => cp.kill('SIGKILL'), 10_000);
    cp.once('close', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

/** Server CPU seconds per GiB moved, or undefined without a CPU figure. */
function cpuPerGiB(cpu: number | undefined, bytes: number): number | undefined {
  return cpu === undefined || !(bytes > 0) ? undefined : cpu / (bytes / GIB);
}

/** Server CPU seconds per operation of a diodload row, over its measured runs (`seconds` long each). */
function cpuPerOp(l: LoadRow, seconds: number): number | undefined {
  const ops = (l.meanOpsPerSecond ?? 0) * seconds;
  return l.serverCpu === undefined || !(ops > 0) ? undefined : l.serverCpu / ops;
}

/**
 * The tables: throughput, and beside it the server's CPU (seconds, per GiB or per operation,
 * and as a ratio to diod's: below 1.00x is less CPU than diod) and its peak RSS.
 */
export function formatNinepBench(result: NinepBenchResult): string {
  const { bytes, runs, threads, loadSeconds } = result.options;
  const warmups = Math.max(1, result.options.warmups ?? DEFAULT_WARMUPS);
  const title =
    `9p on loopback, diod against @flow/9p, same clients, same files: diodcat reading ${fixed(bytes / MIB, 0)} MiB ` +
    `(one request in flight), best of ${runs} after ${warmups} warm-up read(s), the first verified; ` +
    `diodload -n ${threads} -r ${loadSeconds}, best of ${runs} after a 1 s warm-up; CPU figures are means over the measured runs`;
  const readTable = markdownTable(
    ['diodcat', 'placement', 'server', 'best s', 'worst s', 'best MiB/s', 'spread', 'CPU s/run', 'CPU s/GiB', 'CPU vs diod', 'RSS MiB', 'ours/diod'],
    result.reads.map((r) => {
      const diod = result.reads.find((x) => x.msize === r.msize && x.placement === r.placement && x.server === 'diod');
      const perGiB = cpuPerGiB(r.serverCpu, bytes);
      return [
        `-m ${r.msize}`,
        r.placement ?? 'any',
        r.server,
        fixed(Math.min(...r.seconds), 3),
        fixed(Math.max(...r.seconds), 3),
        fixed(r.mibps.best, 0),
        `${fixed(spreadPercent(r.mibps), 0)}%`,
        fixed(r.serverCpu, 2),
        fixed(perGiB, 2),
        ratio(perGiB, cpuPerGiB(diod?.serverCpu, bytes)),
        fixed(r.serverRss === undefined ? undefined : r.serverRss / MIB, 0),
        ratio(r.mibps.best, diod?.mibps.best),
      ];
    }),
  );
  const parts = [title, '', readTable];
  if (result.reads.some((r) => r.placement !== undefined)) {
    parts.push(
      '',
      `placement: "any" is wherever the scheduler puts client and server; the pinned rows fix them with taskset ` +
        `(${PINNED_PLACEMENTS.map((p) => `${p.name}: server on CPU ${p.server}, client on CPU ${p.client}`).join('; ')}), ` +
        'so that the cost of waking a process on another CPU, which one request in flight pays twice per request, is the same for both servers',
    );
  }
  if (result.pinnedSkipped !== undefined) parts.push('', `pinned rows skipped: ${result.pinnedSkipped}`);
  if (result.loads.length > 0) {
    const loadTable = markdownTable(
      ['diodload', 'server', 'best ops/s', 'worst ops/s', 'spread', 'rMiB/s', 'CPU s/run', 'CPU µs/op', 'CPU s/GiB', 'CPU vs diod', 'RSS MiB', 'ours/diod'],
      result.loads.map((l) => {
        const diod = result.loads.find((x) => x.mode === l.mode && x.server === 'diod');
        const perOp = cpuPerOp(l, loadSeconds);
        return [
          l.mode === 'getattr' ? '-g (getattr ctl:null)' : 'read ctl:zero → null',
          l.server,
          fixed(l.opsPerSecond.best, 0),
          fixed(l.opsPerSecond.worst, 0),
          `${fixed(spreadPercent(l.opsPerSecond), 0)}%`,
          fixed(l.readMiBps, 1),
          fixed(l.serverCpu, 2),
          fixed(perOp === undefined ? undefined : perOp * 1e6, 1),
          l.mode === 'read' ? fixed(cpuPerGiB(l.serverCpu, (l.meanReadMiBps ?? 0) * MIB * loadSeconds), 2) : '',
          ratio(perOp, diod ? cpuPerOp(diod, loadSeconds) : undefined),
          fixed(l.serverRss === undefined ? undefined : l.serverRss / MIB, 0),
          ratio(l.opsPerSecond.best, diod?.opsPerSecond.best),
        ];
      }),
    );
    parts.push('', loadTable);
  }
  parts.push('', ...Object.entries(result.servers).map(([name, what]) => `- ${name}: ${what}`));
  return parts.join('\n');
}
