import { runFlowProxy } from './flow-proxy';
import { naiveProxy } from './naive-proxy';
import { loadTcpTransport } from './tcp-transport';

/**
 * Child process running one proxy on loopback: `proxy-process.js <flow|naive> <upstream port>`.
 * Each proxy gets a process of its own, so that its CPU and memory are its own.
 */
async function main(): Promise<void> {
  const [kind, upstream] = process.argv.slice(2);
  const upstreamPort = Number(upstream);
  if (!(upstreamPort > 0 && upstreamPort < 65536)) throw new RangeError(`bad upstream port: ${upstream}`);
  // The parent went away: stop at once, connections and all.
  process.once('disconnect', () => process.exit(0));
  if (kind === 'naive') {
    const server = naiveProxy(upstreamPort);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      process.send?.({ type: 'ready', port, implementation: 'node:net pipe both ways' });
    });
  } else if (kind === 'flow') {
    const tcp = loadTcpTransport();
    await runFlowProxy(tcp, upstreamPort, (port) =>
      process.send?.({ type: 'ready', port, implementation: `@flow/core proxy() over ${tcp.implementation}` }),
    );
  } else {
    throw new RangeError(`unknown proxy kind: ${kind}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
