import { connect, createServer, type Server } from 'node:net';

/**
 * The proxy most Node code has: `pipe` both ways. The two `'error'` handlers are the minimum
 * that keeps a reset from crashing the process; they do not touch the data path.
 */
export function naiveProxy(upstreamPort: number): Server {
  return createServer((c) => {
    const u = connect({ host: '127.0.0.1', port: upstreamPort });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
}
