import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { startFlowProxy } from './hvsock-flow-cli';
import { measurePaths, type MeasuredPath, type ProxyRow } from './hvsock-measure';
import type { VsockGuestOptions, VsockGuestResults } from './hvsock-vsock-guest-types';
import { startVsockTarget, type VsockTarget } from './hvsock-vsock-target';
import { bulk, ping } from './load-clients';
import { startLoopbackPeer, type PeerProcess } from './loopback-peer';
import { findSocat } from './socat';

/** The local CID (VMADDR_CID_LOCAL): with vsock_loopback, connections to it never leave the kernel. */
const LOCAL_CID = 1;

/**
 * Refuses to run anywhere but inside user-mode Linux: the machine running the bench may itself be
 * a VM guest, where an AF_VSOCK connect (the flow proxy's and socat's) would reach its real host.
 */
function assertInsideUml(): void {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // no /proc: not the guest this script is written for
  }
  if (!/^vendor_id\s*:\s*User Mode Linux$/m.test(cpuinfo)) {
    throw new Error('hvsock-uml-guest runs only inside user-mode Linux (it connects over AF_VSOCK); run the vsock section of the bench instead');
  }
}

/**
 * The vsock section inside user-mode Linux: `hvsock-uml-guest.js <work dir>`. The guest end (a
 * vsock sink/echo), `flow proxy`, socat and the clients all run here, on the guest's one CPU.
 */
async function main(): Promise<void> {
  assertInsideUml();
  const work = process.argv[2];
  if (!work) throw new RangeError('usage: hvsock-uml-guest.js <work dir>');
  const options = JSON.parse(readFileSync(join(work, 'options.json'), 'utf8')) as VsockGuestOptions;
  const log = (line: string): void => {
    if (options.verbose) console.error(line);
  };
  const loadBefore = loadavg();
  const proxies: PeerProcess[] = [];
  let target: VsockTarget | undefined;
  try {
    target = await startVsockTarget();
    const vsockPort = target.port;
    const targetUri = `vsock://${LOCAL_CID}:${vsockPort}`;
    const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-name=flow-proxy-vsock.cpuprofile'] : [];
    const flow = await startFlowProxy('tcp://127.0.0.1:0', targetUri, { nodeArgs: profile, readyTimeoutMs: 60_000 });
    proxies.push(flow);
    const paths: MeasuredPath[] = [
      { name: 'flow proxy', note: `flow proxy tcp://127.0.0.1:0 ${targetUri} (defaults)`, to: { port: flow.port }, pid: flow.process.pid, withChildren: false },
    ];
    const skipped: ProxyRow[] = [];
    const socat = options.noSocat ? undefined : findSocat();
    if (socat) {
      const s = await startLoopbackPeer(socat, (port) => [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `VSOCK-CONNECT:${LOCAL_CID}:${vsockPort}`], {
        name: 'socat',
        captureStderr: true,
      });
      proxies.push(s);
      paths.push({ name: 'socat', note: `${socat} TCP-LISTEN:…,bind=127.0.0.1,fork,reuseaddr VSOCK-CONNECT:${LOCAL_CID}:${vsockPort}`, to: { port: s.port }, pid: s.process.pid, withChildren: true });
    } else {
      const why = options.noSocat ? 'left out (no-socat)' : 'skipped: socat is not installed in the guest (apt-get install -y socat)';
      skipped.push({ name: 'socat', note: why, skipped: why });
    }
    const rows = await measurePaths(paths, { bulk, ping }, options, log, 'vsock');
    const results: VsockGuestResults = {
      rows: [...rows, ...skipped],
      guest: { kernel: release(), cpus: cpus().length, node: process.version, loadBefore, loadAfter: loadavg() },
    };
    writeFileSync(join(work, 'results.json'), JSON.stringify(results));
  } finally {
    for (const p of proxies) await p.stop();
    await target?.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
