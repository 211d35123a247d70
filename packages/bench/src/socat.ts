import { findTool, startLoopbackPeer, startUnixPeer, type PeerProcess } from './loopback-peer';

/** socat on PATH, or undefined (the socat row is then skipped with a message). */
export function findSocat(): string | undefined {
  return findTool('socat');
}

export type SocatProxy = PeerProcess;

/** Why a section's socat row is empty: left out on request, or socat missing. */
export function socatSkipReason(noSocat: boolean | undefined): string {
  return noSocat ? 'left out (no-socat)' : 'skipped: socat is not installed (apt-get install -y socat)';
}

/** `socat TCP-LISTEN:p,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:upstream`, once it accepts. */
export function startSocat(binary: string, upstreamPort: number): Promise<SocatProxy> {
  return startLoopbackPeer(binary, (port) => [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${upstreamPort}`], {
    name: 'socat',
    // socat logs every reset the slow-receiver phase provokes; only the tail explains a failure.
    captureStderr: true,
  });
}

/** `socat TCP-LISTEN:p,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:path`: TCP clients to a Unix-domain server. */
export function startSocatToUnix(binary: string, upstreamPath: string): Promise<SocatProxy> {
  return startLoopbackPeer(binary, (port) => [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${upstreamPath}`], {
    name: 'socat',
    captureStderr: true,
  });
}

/** `socat UNIX-LISTEN:path,fork TCP:127.0.0.1:upstream`: Unix-domain clients to a TCP server. */
export function startSocatFromUnix(binary: string, listenPath: string, upstreamPort: number): Promise<SocatProxy> {
  return startUnixPeer(binary, [`UNIX-LISTEN:${listenPath},fork`, `TCP:127.0.0.1:${upstreamPort}`], listenPath, { name: 'socat', captureStderr: true });
}
