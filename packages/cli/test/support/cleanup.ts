import type net from 'node:net';
import { killAllFlows } from './flow-process';
import type { TcpPeer } from './tcp-peer';

/**
 * The peers and client sockets a test file opens, closed after each test together with every
 * `flow` process it started (sockets first, so that the processes see their clients go).
 */
export function closedAfterEach(): { peers: TcpPeer[]; sockets: net.Socket[] } {
  const peers: TcpPeer[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await killAllFlows();
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });
  return { peers, sockets };
}
