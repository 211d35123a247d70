import { cpus, loadavg } from 'node:os';
import { formatCoreBench, runCoreBench } from './core-bench';
import { formatHybridBench, runHybridBench } from './hvsock-hybrid-bench';
import type { ProxyBenchOptions } from './hvsock-measure';
import { formatVsockBench, runVsockBench } from './hvsock-vsock-bench';
import { DEFAULT_WARMUPS, formatNinepBench, runNinepBench } from './ninep-bench';
import { formatNinepCampaign, runNinepCampaign } from './ninep-campaign';
import { chosenSections, parseSizeList, Settings, USAGE, wantsHelp } from './options';
import { formatProxyCampaign, runProxyCampaign } from './proxy-campaign';
import { formatTcpBench, runTcpBench } from './tcp-bench';
import { formatUnixBench, runUnixBench } from './unix-bench';
import { formatXenBench, runXenBench } from './xen-bench';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/**
 * `node dist/main.js [core] [tcp] [unix] [hybrid] [vsock] [9p] [xen] [--tcp-bytes=512MiB ...]`: runs the chosen benchmarks (all by
 * default) and prints one table each; `9p-campaign` (the long 9P fuzz campaign) and `proxy-campaign`
 * (10,000 connections through `flow proxy`) only when named.
 * Settings: see the README.
 */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return;
  }
  let chosen: string[];
  try {
    chosen = chosenSections(argv);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const settings = new Settings(argv, process.env);
  // The knobs every proxy section (unix, hybrid, vsock) shares; only the transfer size differs.
  const proxyBench = (bytesSetting: string, defaultBytes: number): ProxyBenchOptions => ({
    bytes: settings.size(bytesSetting, defaultBytes),
    chunkSize: settings.size('tcp-chunk', 64 * KIB),
    runs: settings.count('runs', 3),
    pings: settings.count('pings', 20000),
    verify: settings.flag('verify'),
    noSocat: settings.flag('no-socat'),
  });
  const all = chosen.length === 0;
  const verbose = settings.flag('verbose');
  const log = (line: string): void => {
    if (verbose) console.error(line);
  };
  // The load average tells readers how much other work shared the machine during the run.
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cpus, load average ${load()}`);
  if (all || chosen.includes('core')) {
    const result = await runCoreBench(
      {
        bytes: settings.size('core-bytes', 2 * GIB),
        chunkSize: settings.size('core-chunk', 64 * KIB),
        runs: settings.count('runs', 3),
        verify: settings.flag('verify'),
      },
      log,
    );
    console.log(`\n${formatCoreBench(result)}`);
  }
  if (all || chosen.includes('tcp')) {
    const result = await runTcpBench(
      {
        bytes: settings.size('tcp-bytes', 2 * GIB),
        chunkSize: settings.size('tcp-chunk', 64 * KIB),
        runs: settings.count('runs', 3),
        pings: settings.count('pings', 20000),
        slowSeconds: settings.number('slow-seconds', 3),
        verify: settings.flag('verify'),
        noSocat: settings.flag('no-socat'),
        noHaproxy: settings.flag('no-haproxy'),
        profileDir: settings.text('profile-dir'),
      },
      log,
    );
    console.log(`\n${formatTcpBench(result)}`);
  }
  // Unix-domain sockets bridged to TCP, both ways: flow proxy (both paths), the naive proxy, socat.
  if (all || chosen.includes('unix')) {
    const result = await runUnixBench(proxyBench('unix-bytes', 2 * GIB), log);
    console.log(`\n${formatUnixBench(result)}`);
  }
  if (all || chosen.includes('hybrid')) {
    const result = await runHybridBench(
      {
        ...proxyBench('hvsock-bytes', 2 * GIB),
        profileDir: settings.text('profile-dir'),
      },
      log,
    );
    console.log(`\n${formatHybridBench(result)}`);
  }
  if (all || chosen.includes('vsock')) {
    const result = await runVsockBench(
      {
        ...proxyBench('vsock-bytes', 512 * MIB),
        profileDir: settings.text('profile-dir'),
      },
      log,
    );
    console.log(`\n${formatVsockBench(result)}`);
  }
  if (all || chosen.includes('9p')) {
    const result = await runNinepBench(
      {
        bytes: settings.size('ninep-bytes', 200 * MIB),
        msizes: parseSizeList(settings.text('ninep-msizes') ?? '8192,65536'),
        runs: settings.count('runs', 5),
        warmups: settings.count('ninep-warmups', DEFAULT_WARMUPS),
        threads: settings.count('ninep-threads', 4),
        loadSeconds: settings.count('ninep-seconds', 3),
        noLoad: settings.flag('ninep-no-load'),
        pinned: !settings.flag('ninep-no-pinned'),
        profileDir: settings.text('profile-dir'),
        ...(settings.flag('ninep-defaults-only') ? { variants: [{ name: 'flow' }] } : {}),
      },
      log,
    );
    console.log(`\n${formatNinepBench(result)}`);
  }
  // The long 9P campaign runs only when asked for by name: ten million frames take minutes.
  if (chosen.includes('9p-campaign')) {
    const result = await runNinepCampaign(
      {
        frames: settings.count('campaign-frames', 10_000_000),
        connections: settings.count('campaign-connections', 8),
        framesPerConnection: settings.count('campaign-frames-per-connection', 50_000),
        window: settings.count('campaign-window', 32),
        budgetBytes: settings.size('campaign-budget', 64 * MIB),
        seed: settings.count('campaign-seed', 1),
      },
      (line) => console.error(line),
    );
    console.log(`\n${formatNinepCampaign(result)}`);
  }
  // The long proxy campaign, also only when named: ten thousand hash-checked connections.
  if (chosen.includes('proxy-campaign')) {
    const result = await runProxyCampaign(
      {
        connections: settings.count('proxy-campaign-connections', 10_000),
        concurrency: settings.count('proxy-campaign-concurrency', 2_000),
        bytes: settings.size('proxy-campaign-bytes', 64 * KIB),
        killBackend: settings.flag('proxy-campaign-kill-backend'),
        restartMs: settings.count('proxy-campaign-restart-ms', 200),
      },
      (line) => console.error(line),
    );
    console.log(`\n${formatProxyCampaign(result)}`);
  }
  if (all || chosen.includes('xen')) {
    const result = await runXenBench(
      {
        bytes: settings.size('xen-bytes', 16 * MIB),
        limitedBytes: settings.size('xen-limited-bytes', 512 * KIB),
        chunkSize: settings.size('xen-chunk', 64 * KIB),
        runs: settings.count('runs', 3),
        pings: settings.count('pings', 20000),
        limitedPings: settings.count('xen-limited-pings', 300),
        verify: settings.flag('verify'),
      },
      log,
    );
    console.log(`\n${formatXenBench(result)}`);
  }
  console.log(`\nload average at the end: ${load()}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
