// socat (Debian 1.7.4.4) as an independent peer of the hybrid-vsock client and listener, the
// way the Firecracker, Cloud Hypervisor and vhost-device docs use it (§2.10): a scripted
// `UNIX-LISTEN` fake VMM that reads the command line, and `UNIX-CONNECT:<uds>_<port>`.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HybridVsockAddress } from '../src/address/types';
import { connectHybrid } from '../src/hybrid/connect';
import { listenHybrid } from '../src/hybrid/listen';
import { killAllSocat, socatExited, socatLogged, socatStdout, startSocat } from './support/socat';
import { expectErr, expectOk, readAll, socketDir } from './support/unix-flow-io';

let tmp: ReturnType<typeof socketDir>;
let uds: string;

beforeEach(() => {
  tmp = socketDir();
  uds = join(tmp.dir, 'v.sock');
});

afterEach(async () => {
  await killAllSocat();
  tmp.remove();
});

const at = (port: number): HybridVsockAddress => ({ kind: 'hybrid-vsock', path: uds, port });

/** A shell script for socat's EXEC; `body` runs with the connection on stdin/stdout. */
function script(name: string, body: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** socat listening on the VMM socket, one forked script per connection. */
async function fakeVmm(scriptPath: string): Promise<void> {
  const vmm = startSocat([`UNIX-LISTEN:${uds},fork`, `EXEC:${scriptPath}`]);
  await socatLogged(vmm, 'listening on');
}

describe('socat as a fake VMM (UNIX-LISTEN + a shell script)', () => {
  test('it reads exactly "CONNECT 52\\n", its OK is parsed, and the stream (tr a-z A-Z) half-closes both ways', async () => {
    const commands = join(tmp.dir, 'commands');
    // dash's read takes one byte at a time, so tr gets everything after the newline.
    await fakeVmm(script('vmm.sh', `IFS= read -r line\nprintf '%s\\n' "$line" >> ${commands}\nprintf 'OK 1073741824\\n'\nexec tr a-z A-Z`));
    const flow = expectOk(await connectHybrid(at(52)));
    expect(flow.ackPort).toBe(1073741824);
    expectOk(await flow.write(Buffer.from('hello vsock')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(flow)).toString()).toBe('HELLO VSOCK');
    expectOk(await flow.close());
    expect(readFileSync(commands)).toEqual(Buffer.from('CONNECT 52\n'));
  });

  test('the first guest bytes in the same write as OK come first, exactly once', async () => {
    await fakeVmm(script('vmm.sh', `IFS= read -r line\nprintf 'ok 7\\nfirst data '\nexec tr a-z A-Z`));
    const flow = expectOk(await connectHybrid(at(4294967295)));
    expect(flow.ackPort).toBe(7);
    expectOk(await flow.write(Buffer.from('then ours')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(flow)).toString()).toBe('first data THEN OURS');
    expectOk(await flow.close());
  });

  test('a VMM that closes without a word: refused', async () => {
    await fakeVmm(script('vmm.sh', 'IFS= read -r line\nexit 0'));
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('no guest listener on port 52');
  });

  test('a VMM that answers junk: protocol, quoting it', async () => {
    await fakeVmm(script('vmm.sh', `IFS= read -r line\nprintf 'NOPE\\r\\n'\nexec cat >/dev/null`));
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('protocol');
    expect(error.message).toContain('"NOPE\\r\\n"');
  });
});

describe('socat as the VMM connecting a guest to our listener (UNIX-CONNECT:<uds>_<port>)', () => {
  test('its bytes and its EOF reach us, our reply and EOF reach it, and it exits 0', async () => {
    const listener = expectOk(await listenHybrid(at(52), { mode: 0o600 }));
    const guest = startSocat(['-', `UNIX-CONNECT:${uds}_52`]);
    const output = socatStdout(guest);
    guest.stdin?.end('ping from the guest');
    const flow = expectOk(await listener.accept());
    expect((await readAll(flow)).toString()).toBe('ping from the guest');
    expectOk(await flow.write(Buffer.from('pong from the host')));
    expectOk(await flow.close());
    expect((await output).toString()).toBe('pong from the host');
    expect(await socatExited(guest)).toBe(0);
    await listener.close();
  });

  test('await using closes the listener at the end of the scope: its socket file is gone and the VMM is refused', async () => {
    {
      await using listener = expectOk(await listenHybrid(at(53), { mode: 0o600 }));
      expect(existsSync(`${uds}_53`)).toBe(true);
      expect(listener.closedForAccept).toBe(false);
    }
    expect(existsSync(`${uds}_53`)).toBe(false);
    const guest = startSocat(['-', `UNIX-CONNECT:${uds}_53`]);
    guest.stdin?.end('anyone?');
    expect(await socatExited(guest)).not.toBe(0);
  });
});
