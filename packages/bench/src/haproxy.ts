import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, startLoopbackPeer, type PeerProcess } from './loopback-peer';

/** haproxy on PATH or in /usr/sbin (Debian's package), or undefined (its rows are then skipped). */
export function findHaproxy(): string | undefined {
  return findTool('haproxy', ['/usr/sbin']);
}

/**
 * The configuration a user who wants speed writes for a plain TCP forwarder: one frontend, one
 * backend, long timeouts (a bulk transfer must not be cut), and, for the splice variant,
 * `option splice-auto` (haproxy then moves bytes with splice(2) where it sees fit).
 */
export function haproxyConfig(port: number, upstreamPort: number, splice: boolean): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    ...(splice ? ['  option splice-auto'] : []),
    'frontend bench',
    `  bind 127.0.0.1:${port}`,
    '  default_backend target',
    'backend target',
    `  server target 127.0.0.1:${upstreamPort}`,
    '',
  ].join('\n');
}

/** `haproxy -f <config> -db` (foreground) forwarding a free loopback port to `upstreamPort`. */
export async function startHaproxy(binary: string, upstreamPort: number, splice: boolean): Promise<PeerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'));
  try {
    const peer = await startLoopbackPeer(
      binary,
      (port) => {
        const file = join(dir, 'haproxy.cfg');
        writeFileSync(file, haproxyConfig(port, upstreamPort, splice));
        return ['-f', file, '-db'];
      },
      { name: splice ? 'haproxy (splice)' : 'haproxy', captureStderr: true },
    );
    return {
      process: peer.process,
      port: peer.port,
      stop: async () => {
        await peer.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
