import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runUml, umlMissing, umlModuleDir, UML_GUEST_DIR } from '@flow/uml';
import { entryPoint } from './child';
import type { ProxyBenchOptions, ProxyRow } from './hvsock-measure';
import { formatProxyTable } from './hvsock-table';
import type { VsockGuestOptions, VsockGuestResults } from './hvsock-vsock-guest-types';

/** `bytes` is smaller than on the host by default: every syscall of the guest is slow. */
export interface VsockBenchOptions extends ProxyBenchOptions {
  /** Write a CPU profile of the flow proxy (run in the guest) here. */
  readonly profileDir?: string;
  /** The guest's memory. Default 1536M. */
  readonly mem?: string;
}

export interface VsockBenchResult {
  readonly options: VsockBenchOptions;
  /** Why the section did not run (user-mode Linux is not installed). */
  readonly skipped?: string;
  readonly rows: readonly ProxyRow[];
  readonly guest?: VsockGuestResults['guest'];
  /** Wall-clock seconds from boot to power-off. */
  readonly umlSeconds?: number;
}

const MIB = 1024 * 1024;
const WARMUP_BYTES = 64 * MIB;
const MODULES = ['net/vmw_vsock/vsock.ko', 'net/vmw_vsock/vmw_vsock_virtio_transport_common.ko', 'net/vmw_vsock/vsock_loopback.ko'];
/** The most any single request in the guest may take (see hvsock-measure.ts). */
const REQUEST_LIMIT_MS = 130_000;

/** `text` as one word for sh. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The guest's init: what test/fixtures/uml/guest.sh of @flow/hvsock does (mounts, lo up, the vsock
 * loopback modules through insmod.sh), then the guest half of the bench, then power off.
 */
function initScript(work: string, moduleDir: string): string {
  const w = (name: string): string => shellWord(join(work, name));
  const modules = MODULES.map((m) => shellWord(join(moduleDir, m))).join(' ');
  return `#!/bin/sh
# init of the user-mode Linux guest of the vsock bench (generated; removed with its directory).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/tmp
poweroff() {
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
sh ${shellWord(join(UML_GUEST_DIR, 'insmod.sh'))} ${modules} > ${w('insmod.log')} 2>&1 || { echo 90 > ${w('rc')}; poweroff; }
${shellWord(process.execPath)} ${shellWord(entryPoint('hvsock-uml-guest'))} ${shellWord(work)} > ${w('guest.log')} 2>&1
echo $? > ${w('rc')}
poweroff
`;
}

/**
 * AF_VSOCK ↔ TCP inside user-mode Linux: one boot runs the whole section (guest end, `flow proxy`,
 * socat and the clients, on the guest's one CPU, over vsock_loopback to CID 1) and leaves its
 * results in the work directory through hostfs. This process never touches AF_VSOCK itself.
 */
export async function runVsockBench(options: VsockBenchOptions, log: (line: string) => void = () => undefined): Promise<VsockBenchResult> {
  const missing = umlMissing(MODULES);
  if (missing !== undefined) return { options, skipped: `user-mode Linux is needed: ${missing}`, rows: [] };
  const work = mkdtempSync(join(tmpdir(), 'flow-bench-vsock-'));
  try {
    mkdirSync(join(work, 'state'));
    const guestOptions: VsockGuestOptions = {
      bytes: options.bytes,
      chunkSize: options.chunkSize,
      runs: options.runs,
      pings: options.pings,
      verify: options.verify,
      warmupBytes: options.noWarmup ? 0 : WARMUP_BYTES,
      requestTimeoutMs: REQUEST_LIMIT_MS,
      noSocat: options.noSocat,
      profileDir: options.profileDir === undefined ? undefined : resolve(options.profileDir),
      verbose: true,
    };
    writeFileSync(join(work, 'options.json'), JSON.stringify(guestOptions));
    const init = join(work, 'init.sh');
    writeFileSync(init, initScript(work, umlModuleDir() as string), { mode: 0o755 });
    // Every request in the guest is bounded; this bounds the boot as a whole (two rows at most).
    const requests = 2 * (options.runs + 1) + 2 * options.runs;
    const started = performance.now();
    const { output } = await runUml({ init, stateDir: join(work, 'state'), mem: options.mem ?? '1536M' }, requests * REQUEST_LIMIT_MS + 120_000);
    const umlSeconds = (performance.now() - started) / 1000;
    const read = (name: string): string => (existsSync(join(work, name)) ? readFileSync(join(work, name), 'utf8') : `(no ${name})`);
    for (const line of read('guest.log').split('\n')) if (line.trim()) log(line);
    if (!existsSync(join(work, 'results.json'))) {
      throw new Error(
        `the vsock guest left no results (rc ${read('rc').trim()})\ninsmod.log:\n${read('insmod.log')}\n` +
          `guest.log (tail):\n${read('guest.log').slice(-4000)}\nconsole (tail):\n${output.slice(-2000)}`,
      );
    }
    const results = JSON.parse(read('results.json')) as VsockGuestResults;
    return { options, rows: results.rows, guest: results.guest, umlSeconds };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatVsockBench(result: VsockBenchResult): string {
  const { bytes, chunkSize, runs, pings } = result.options;
  const head = `vsock inside user-mode Linux: TCP 127.0.0.1 → proxy → AF_VSOCK (vsock_loopback, CID 1) → guest end`;
  if (result.skipped) return `${head}: skipped: ${result.skipped}`;
  const g = result.guest;
  const title =
    `${head}; bulk ${bytes / MIB} MiB per run in ${chunkSize / 1024} KiB writes, best of ${runs}; ` +
    `${Math.ceil(pings / runs) * runs} 1-byte round trips in ${runs} rounds`;
  return formatProxyTable(title, result.rows, [
    `the guest (kernel ${g?.kernel}, ${g?.cpus} cpu, Node ${g?.node}) runs everything on its one CPU: the sink/echo (@flow/hvsock listenVsock, one Node process with the clients), the proxy and the clients`,
    `one boot for the section: ${result.umlSeconds?.toFixed(0)} s from boot to power-off`,
  ]);
}
