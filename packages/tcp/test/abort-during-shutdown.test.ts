import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from '../src';
import { expectOk, openFds } from './support';

const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));

/** Resolves once `ready()` holds, or with false after `ms`: a leak fails the test instead of hanging it. */
async function eventually(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

// The race behind flow proxy's leak when a backend died mid-transfer: one direction passes the
// backend's EOF on as a shutdown while the other fails and aborts the same flow.
test.each([0, 1, 2, 3, 4])('abort right after shutdownWrite (%i ticks later) releases the socket and resets the peer', async (ticks) => {
  const peers: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.resume();
    peers.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const baseline = openFds();
  const flow = expectOk(await connect({ host: '127.0.0.1', port }));
  await eventually(() => peers.length === 1, 5000);

  void flow.shutdownWrite();
  for (let i = 0; i < ticks; i += 1) await nextTick();
  flow.abort();
  await flow.closed;

  // Our socket is gone (only the server's side of the connection is left) ...
  expect(await eventually(() => openFds() <= baseline + 1, 5000)).toBe(true);
  // ... and the peer, which saw our FIN, learns of the reset when it writes.
  const peerError = new Promise<string>((r) => peers[0].once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error')));
  const writeUntilError = setInterval(() => peers[0].write('still there?'), 20);
  expect(['ECONNRESET', 'EPIPE']).toContain(await peerError);
  clearInterval(writeUntilError);
  peers[0].destroy();
  await new Promise((r) => server.close(r));
});
