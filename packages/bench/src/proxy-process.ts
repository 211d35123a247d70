import { runFlowProxy } from './flow-proxy';
import { naiveProxy } from './naive-proxy';
import { loadTcpTransport } from './tcp-transport';

/**
 * Child process running one proxy on loopback: `proxy-process.js <flow|naive> <upstream port>`.
 * Each proxy gets a process of its own, so that its CPU and memory are its own. The naive proxy
 * also bridges Unix-domain sockets: `naive unix:UPSTREAM_PATH` (listening on 127.0.0.1), or
 * `naive <upstream port> unix:LISTEN_PATH` (its ready message then says port 0).
 */
async function main(): Promise<void> {
  const [kind, upstream, listenOn] = process.argv.slice(2);
  const upstreamPath = upstream?.startsWith('unix:') ? upstream.slice('unix:'.length) : undefined;
  const upstreamPort = Number(upstream);
  if (upstreamPath === undefined && !(upstreamPort > 0 && upstreamPort < 65536)) throw new RangeError(`bad upstream port: ${upstream}`);
  const listenPath = listenOn?.startsWith('unix:') ? listenOn.slice('unix:'.length) : undefined;
  if (listenOn !== undefined && listenPath === undefined) throw new RangeError(`bad listen address: ${listenOn}`);
  if (kind !== 'naive' && (upstreamPath !== undefined || listenPath !== undefined)) throw new RangeError(`only the naive proxy bridges Unix sockets`);
  // The parent went away: stop at once, connections and all.
  process.once('disconnect', () => process.exit(0));
  if (kind === 'naive') {
    const server = naiveProxy(upstreamPath === undefined ? upstreamPort : { path: upstreamPath });
    server.listen(listenPath === undefined ? { host: '127.0.0.1', port: 0 } : { path: listenPath }, () => {
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
