import { connectTcp, echo, readAll, TcpPeer } from './support/tcp-peer';
import { startFlow } from './support/flow-process';
import { closedAfterEach } from './support/cleanup';

const { peers, sockets: clients } = closedAfterEach();

test('flow proxy with 40 live connections prints no MaxListenersExceededWarning', async () => {
  const peer = new TcpPeer(echo);
  peers.push(peer);
  const target = await peer.listen();
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`]);
  const port = Number(/:(\d+)$/.exec(await flow.listeningOn())?.[1]);
  // All 40 are live at once: each waits for its echo before any ends.
  for (let i = 0; i < 40; i += 1) clients.push(await connectTcp(port));
  await Promise.all(
    clients.map(
      (c, i) =>
        new Promise<void>((resolve) => {
          c.once('data', () => resolve());
          c.write(`hello ${i}`);
        }),
    ),
  );
  const replies = clients.map((c) => readAll(c));
  for (const c of clients) c.end();
  await Promise.all(replies);
  expect(flow.stderr).not.toMatch(/MaxListenersExceededWarning|memory leak/);
});
