// What a TypeScript user of `listen` gets: an address typed by what was asked for, a handler of
// `serve` that receives TcpFlows, and `await using` on the listener. The type checks are part of
// the test: `tsc -p tsconfig.test.json` fails if `address.port` or `flow.dst` needed a cast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, writeString } from '@flow/core';
import { connect, listen, type IpEndpoint, type TcpFlow, type TcpListener, type UnixEndpoint } from '../src';
import { expectOk, readAll } from './support';

test('a tcp: listener has an IP address whose port needs no cast', async () => {
  const listener: TcpListener<IpEndpoint> = expectOk(await listen('tcp://127.0.0.1:0'));
  try {
    const port: number = listener.address.port;
    expect(port).toBeGreaterThan(0);
    expect(listener.address.family).toBe('IPv4');
  } finally {
    await listener.close();
  }
});

test('a unix: listener has a path address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-listener-types-'));
  try {
    const listener: TcpListener<UnixEndpoint> = expectOk(await listen(`unix://${join(dir, 's')}`));
    const path: string = listener.address.path;
    expect(path).toBe(join(dir, 's'));
    await listener.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve's handler gets a TcpFlow: it reads the peer's address from dst", async () => {
  const listener = expectOk(await listen('tcp://127.0.0.1:0'));
  const seen: TcpFlow[] = [];
  const server = serve(listener, async (flow) => {
    seen.push(flow);
    const peer = flow.dst.family === 'unix' ? flow.dst.path : `${flow.dst.address}:${flow.dst.port}`;
    expectOk(await writeString(flow, `hello ${peer}`));
  });
  try {
    const client = expectOk(await connect({ host: '127.0.0.1', port: listener.address.port }));
    const src = client.src;
    expectOk(await client.shutdownWrite());
    const text = (await readAll(client)).toString();
    expect(src.family).toBe('IPv4');
    expect(text).toBe(`hello 127.0.0.1:${src.family === 'unix' ? '' : src.port}`);
    expect(seen).toHaveLength(1);
    client.abort();
  } finally {
    await listener.close();
    await server.done;
  }
});

test('await using closes the listener at the end of the scope; the flow it accepted stays usable', async () => {
  let port = 0;
  let accepted: TcpFlow | undefined;
  let kept: TcpListener<IpEndpoint> | undefined;
  const client = await (async () => {
    await using listener = expectOk(await listen('tcp://127.0.0.1:0'));
    kept = listener;
    port = listener.address.port;
    const [c, s] = await Promise.all([connect({ host: '127.0.0.1', port }), listener.accept()]);
    accepted = expectOk(s);
    return expectOk(c);
  })();
  expect(kept?.closedForAccept).toBe(true);
  const again = await connect({ host: '127.0.0.1', port });
  expect(again.ok ? 'connected' : again.error.kind).toBe('refused');
  expectOk(await client.write(Buffer.from('after the scope')));
  expectOk(await client.shutdownWrite());
  expect((await readAll(accepted!)).toString()).toBe('after the scope');
  client.abort();
  accepted!.abort();
});
