// flow proxy on its default path, the native copy engine, and with --no-fast-copy: a load of
// 1000 connections hash-checked, every connection on the path asked for, and the proxy's
// descriptors (sockets, and the engine's duplicates) back to where they were.
import { readdirSync } from 'node:fs';
import { connectTcp, echo, readAll, randomData, sha256, TcpPeer } from './support/tcp-peer';
import { runFlow, startFlow } from './support/flow-process';
import { closedAfterEach } from './support/cleanup';

const { peers, sockets: clients } = closedAfterEach();

function portOf(uri: string): number {
  return Number(/:(\d+)$/.exec(uri)?.[1]);
}

async function echoTarget(): Promise<number> {
  const peer = new TcpPeer(echo);
  peers.push(peer);
  return peer.listen();
}

describe.each([
  ['fast path (readwrite, the default)', 'fast', [] as string[]],
  ['fast path, --copy-mode splice', 'fast', ['--copy-mode', 'splice']],
  ['pure path', 'pure', ['--no-fast-copy']],
])('flow proxy, %s', (_title, path, flags) => {
  test('1000 connections, hash-checked, all on this path, and the proxy holds no more descriptors afterwards', async () => {
    const target = await echoTarget();
    const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--stats', '--verbose', ...flags]);
    const port = portOf(await flow.listeningOn());
    const fdsOfProxy = (): number => readdirSync(`/proc/${flow.child.pid}/fd`).length;
    const baseline = fdsOfProxy();
    // In waves of 250, so that the machine's other work is not starved; each wave all at once.
    const outcomes: string[] = [];
    for (let wave = 0; wave < 4; wave += 1) {
      const sockets = await Promise.all(Array.from({ length: 250 }, () => connectTcp(port)));
      clients.push(...sockets);
      outcomes.push(
        ...(await Promise.all(
          sockets.map(async (socket, i) => {
            const data = randomData(8 * 1024 + ((wave * 250 + i) % 64) * 1024);
            const reply = readAll(socket);
            // The end comes once every byte came back, so that both directions are running
            // when the proxy starts (a client already gone has nothing left to accelerate).
            let echoed = 0;
            socket.on('data', (c: Buffer) => {
              echoed += c.length;
              if (echoed === data.length) socket.end();
            });
            socket.write(data);
            try {
              const back = await reply;
              return sha256(back) === sha256(data) ? 'ok' : `${back.length} bytes back of ${data.length}, different`;
            } catch (error) {
              return String(error);
            }
          }),
        )),
      );
    }
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    const lines = (await flow.waitForStdoutLines(1000)).map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(lines.filter((l) => l.clientToTarget?.path !== path || l.targetToClient?.path !== path)).toEqual([]);
    expect(lines.filter((l) => l.clientToTarget?.outcome !== 'eof' || l.targetToClient?.outcome !== 'eof')).toEqual([]);
    // --verbose says nothing when every connection took the fast path.
    if (path === 'fast') expect(flow.stderr).not.toMatch(/copies in TypeScript/);
    let fds = fdsOfProxy();
    for (let i = 0; i < 500 && fds > baseline; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      fds = fdsOfProxy();
    }
    expect({ fds }).toEqual({ fds: baseline });
  });
});

test('--verbose says in one line why a connection that is not between two kernel sockets copies in TypeScript', async () => {
  const target = await echoTarget();
  // stdio: is not a socket the proxy can lend.
  const flow = startFlow(['proxy', 'stdio:', `tcp://127.0.0.1:${target}`, '--verbose']);
  flow.child.stdin.end('hello');
  const [line] = await flow.waitForStderr(/^flow proxy: connection 1 \(client to target\) copies in TypeScript: .*$/m);
  expect(line).toMatch(/is not backed by a kernel descriptor it can lend$/);
});

test('flow proxy --help documents --no-fast-copy, --copy-mode and --verbose', async () => {
  const r = await runFlow(['proxy', '--help']);
  const help = r.stdout.toString();
  expect(help).toMatch(/--no-fast-copy {2,}copy in TypeScript only/);
  expect(help).toMatch(/--copy-mode MODE {2,}how the native engine moves bytes: readwrite/);
  expect(help).toMatch(/--verbose {2,}say on stderr/);
});

test.each([
  [['--copy-mode', 'zerocopy'], /--copy-mode must be readwrite or splice, not 'zerocopy'/],
  [['--copy-mode', 'splice', '--no-fast-copy'], /--no-fast-copy turns the engine off: drop one of them/],
])('flow proxy %j is a usage error', async (flags, message) => {
  const r = await runFlow(['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:9', ...flags]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
});
