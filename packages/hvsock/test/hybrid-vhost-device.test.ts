// Our hybrid-vsock client against a double of rust-vmm vhost-device-vsock's Unix-socket backend
// (§2.6), built from src/vsock_conn.rs @0a1b0aab. It is not packaged in Debian and needs Rust
// crates that are not available offline; see test/support/vhost-device-double.ts.
import { join } from 'node:path';
import type { HybridVsockAddress } from '../src/address/types';
import { connectHybrid } from '../src/hybrid/connect';
import type { HybridVmmDouble } from './support/hybrid-muxer-double';
import { startVhostDeviceDouble } from './support/vhost-device-double';
import { expectErr, expectOk, readAll, readBytes, socketDir } from './support/unix-flow-io';

let tmp: ReturnType<typeof socketDir>;
let uds: string;
let vhost: HybridVmmDouble;

beforeEach(async () => {
  tmp = socketDir();
  uds = join(tmp.dir, 'vhost.sock');
  vhost = await startVhostDeviceDouble(uds);
});

afterEach(async () => {
  await vhost.close();
  tmp.remove();
});

const at = (port: number): HybridVsockAddress => ({ kind: 'hybrid-vsock', path: uds, port });

describe('vhost-device-vsock @0a1b0aab', () => {
  test('OK <guest port>: the acknowledged number is the guest port, taken as opaque', async () => {
    const guest = vhost.listen(9001);
    const flow = expectOk(await connectHybrid(at(9001)));
    expect(flow.ackPort).toBe(9001);
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('ping')));
    expect((await readBytes(g, 4)).toString()).toBe('ping');
    flow.abort();
    g.abort();
  });

  test('a guest port of 0 and of 2^32-1 are acknowledged as such', async () => {
    vhost.listen(0);
    vhost.listen(0xffffffff);
    const low = expectOk(await connectHybrid(at(0)));
    const high = expectOk(await connectHybrid(at(0xffffffff)));
    expect([low.ackPort, high.ackPort]).toEqual([0, 0xffffffff]);
    low.abort();
    high.abort();
  });

  test('host EOF ⇒ SHUTDOWN RCV|SEND: the guest reads EOF and can no longer send, we read EOF', async () => {
    const guest = vhost.listen(9002);
    const flow = expectOk(await connectHybrid(at(9002)));
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('bye')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(g)).toString()).toBe('bye');
    expect(expectErr(await g.write(Buffer.from('no'))).code).toBe('EPIPE');
    expect((await readAll(flow)).length).toBe(0);
    expectOk(await flow.close());
  });

  test('no guest listener: refused', async () => {
    expect(expectErr(await connectHybrid(at(9003))).kind).toBe('refused');
  });
});
