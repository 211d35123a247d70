import { connect, createServer, type Server } from 'node:net';

/**
 * The proxy most Node code has: `pipe` both ways. The two `'error'` handlers are the minimum
 * that keeps a reset from crashing the process; they do not touch the data path. The upstream
 * is a port on 127.0.0.1, or a Unix-domain socket (`{ path }`).
 */
export function naiveProxy(upstream: number | { readonly path: string }): Server {
  return createServer((c) => {
    const u = typeof upstream === 'number' ? connect({ host: '127.0.0.1', port: upstream }) : connect({ path: upstream.path });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
}
