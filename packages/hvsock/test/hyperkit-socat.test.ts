// socat (Debian 1.7.4.4) as an independent peer of the Hyperkit client and listener: a fake
// Hyperkit on `<dir>/connect` whose script takes the header with one read(18), as
// handle_connect_fd does (moby/hyperkit @3cb0d547), and `UNIX-CONNECT:<dir>/00000002.%08x`.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HyperkitAddress } from '../src/address/types';
import { connectHyperkit } from '../src/hyperkit/connect';
import { listenHyperkit } from '../src/hyperkit/listen';
import { killAllSocat, socatExited, socatLogged, socatStdout, startSocat } from './support/socat';
import { expectOk, readAll, socketDir } from './support/unix-flow-io';

let tmp: ReturnType<typeof socketDir>;

beforeEach(() => {
  tmp = socketDir();
});

afterEach(async () => {
  await killAllSocat();
  tmp.remove();
});

const at = (port: number, cid?: number): HyperkitAddress => ({ kind: 'hyperkit', dir: tmp.dir, port, cid });

async function fakeHyperkit(): Promise<string> {
  const header = join(tmp.dir, 'header');
  const script = join(tmp.dir, 'hyperkit.sh');
  // One read() of at most 18 bytes, like handle_connect_fd; a header in two writes would be cut.
  writeFileSync(script, `#!/bin/sh\ndd bs=18 count=1 of=${header} 2>/dev/null\nexec tr a-z A-Z\n`);
  chmodSync(script, 0o755);
  const hyperkit = startSocat([`UNIX-LISTEN:${join(tmp.dir, 'connect')},fork`, `EXEC:${script}`]);
  await socatLogged(hyperkit, 'listening on');
  return header;
}

test('socat reads exactly the 18-byte header in one read (default cid 3), then the stream half-closes both ways', async () => {
  const header = await fakeHyperkit();
  const flow = expectOk(await connectHyperkit(at(0x5653)));
  expectOk(await flow.write(Buffer.from('hello hyperkit')));
  expectOk(await flow.shutdownWrite());
  expect((await readAll(flow)).toString()).toBe('HELLO HYPERKIT');
  expectOk(await flow.close());
  expect(readFileSync(header).toString('latin1')).toBe('00000003.00005653\n');
});

test('a chosen cid and port are written in lower-case hex', async () => {
  const header = await fakeHyperkit();
  const flow = expectOk(await connectHyperkit(at(0xdeadbeef, 0xabc)));
  expectOk(await flow.shutdownWrite());
  expect((await readAll(flow)).length).toBe(0);
  expectOk(await flow.close());
  expect(readFileSync(header).toString('latin1')).toBe('00000abc.deadbeef\n');
});

test('socat as Hyperkit connecting a guest to our listener at <dir>/00000002.%08x', async () => {
  const listener = expectOk(await listenHyperkit(at(80)));
  expect(listener.path).toBe(join(tmp.dir, '00000002.00000050'));
  const guest = startSocat(['-', `UNIX-CONNECT:${listener.path}`]);
  const output = socatStdout(guest);
  guest.stdin?.end('GET / HTTP/1.0\r\n\r\n');
  const flow = expectOk(await listener.accept());
  expect((await readAll(flow)).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
  expectOk(await flow.write(Buffer.from('HTTP/1.0 204 No Content\r\n\r\n')));
  expectOk(await flow.close());
  expect((await output).toString()).toBe('HTTP/1.0 204 No Content\r\n\r\n');
  expect(await socatExited(guest)).toBe(0);
  await listener.close();
});
