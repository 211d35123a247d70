// Slowloris against `flow proxy`: clients that connect and send nothing, or a byte now and then,
// to hold the proxy's connections. A byte forwarder waits for no request, so such a client holds
// exactly one of the `--max-connections` slots and nothing else: real clients are served beside
// them, and with `--idle-timeout` the silent ones give their slots back.
import net from 'node:net';
import { startFlow } from './support/flow-process';
import { connectTcp, echo, randomData, readAll, sha256, TcpPeer } from './support/tcp-peer';
import { closedAfterEach } from './support/cleanup';

const { peers, sockets } = closedAfterEach();

async function echoTarget(): Promise<number> {
  const peer = new TcpPeer(echo);
  peers.push(peer);
  return peer.listen();
}

async function attacker(port: number): Promise<net.Socket> {
  const s = await connectTcp(port);
  s.on('error', () => undefined);
  s.resume();
  sockets.push(s);
  return s;
}

/** A real client: 256 KiB through the proxy and back, hash-checked. */
async function realClient(port: number): Promise<string> {
  const data = randomData(256 * 1024);
  const s = await connectTcp(port);
  sockets.push(s);
  const back = readAll(s);
  s.end(data);
  return sha256(await back) === sha256(data) ? 'echoed intact' : 'different';
}

function portOf(uri: string): number {
  return Number(/:(\d+)$/.exec(uri)?.[1]);
}

test('200 silent and 50 dribbling connections do not keep a real client from being served (defaults)', async () => {
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${await echoTarget()}`]);
  const port = portOf(await flow.listeningOn());
  for (let i = 0; i < 200; i++) await attacker(port);
  const dribblers = await Promise.all(Array.from({ length: 50 }, () => attacker(port)));
  const echoed = dribblers.map(() => 0);
  dribblers.forEach((d, i) => d.on('data', (c: Buffer) => (echoed[i] += c.length)));
  const drip = setInterval(() => {
    for (const d of dribblers) if (!d.destroyed) d.write('x');
  }, 50);
  try {
    expect(await realClient(port)).toBe('echoed intact');
    // The dribblers are proxied too, byte by byte, not held back until they say more.
    while (echoed.some((n) => n === 0)) await new Promise((r) => setTimeout(r, 20));
    expect(echoed.every((n) => n > 0)).toBe(true);
  } finally {
    clearInterval(drip);
  }
});

test('with every slot taken by silent clients, --idle-timeout frees them and the waiting real client is served', async () => {
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${await echoTarget()}`, '--max-connections', '20', '--idle-timeout', '300', '--stats']);
  const port = portOf(await flow.listeningOn());
  const silent = await Promise.all(Array.from({ length: 20 }, () => attacker(port)));
  const closedByProxy = silent.map((s) => new Promise<void>((r) => s.once('close', () => r())));
  // The real client comes while all 20 slots are held: it waits in the backlog, then is served.
  expect(await realClient(port)).toBe('echoed intact');
  await Promise.all(closedByProxy);
  const lines = await flow.waitForStdoutLines(21);
  const outcomes = lines.map((l) => (JSON.parse(l) as { outcome: string }).outcome);
  expect(outcomes.filter((o) => o === 'timeout')).toHaveLength(20);
  expect(outcomes.filter((o) => o === 'eof')).toHaveLength(1);
});
