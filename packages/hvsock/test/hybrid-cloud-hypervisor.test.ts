// Our hybrid-vsock client and listener against a double of Cloud Hypervisor (§2.5), built from
// cloud-hypervisor/cloud-hypervisor @ae44c297 with the half-close of 01593ad1. Cloud Hypervisor
// itself cannot run here (no usable KVM); see test/support/cloud-hypervisor-double.ts.
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { describeFlowConformance } from '@flow/conformance';
import { EOF } from '@flow/core';
import type { HybridVsockAddress } from '../src/address/types';
import { HYBRID_VSOCK_CAPABILITIES } from '../src/hybrid/capabilities';
import { connectHybrid } from '../src/hybrid/connect';
import { listenHybrid } from '../src/hybrid/listen';
import { startCloudHypervisorDouble } from './support/cloud-hypervisor-double';
import type { HybridVmmDouble } from './support/hybrid-muxer-double';
import { expectOk, readAll, readBytes, socketDir, waitUntil } from './support/unix-flow-io';

const address = (path: string, port: number): HybridVsockAddress => ({ kind: 'hybrid-vsock', path, port });

describeFlowConformance({
  name: 'hybrid vsock host → guest through Cloud Hypervisor @ae44c297 (half-close since 01593ad1): a = connectHybrid, b = the guest end',
  capabilities: HYBRID_VSOCK_CAPABILITIES,
  maxBytes: 16 * 1024 * 1024,
  makePair: async () => {
    const tmp = socketDir();
    const uds = join(tmp.dir, 'ch.vsock');
    const ch = await startCloudHypervisorDouble(uds);
    const guest = ch.listen(1234);
    const [a, b] = await Promise.all([connectHybrid(address(uds, 1234)), guest.accept()]);
    return {
      a: expectOk(a),
      b: expectOk(b),
      cleanup: async () => {
        await ch.close();
        tmp.remove();
      },
    };
  },
});

describeFlowConformance({
  name: 'hybrid vsock guest → host through Cloud Hypervisor @ae44c297 (half-close since 01593ad1): a = the guest end, b = listenHybrid',
  capabilities: HYBRID_VSOCK_CAPABILITIES,
  maxBytes: 16 * 1024 * 1024,
  makePair: async () => {
    const tmp = socketDir();
    const uds = join(tmp.dir, 'ch.vsock');
    const ch = await startCloudHypervisorDouble(uds);
    const listener = expectOk(await listenHybrid(address(uds, 1234)));
    const [a, b] = await Promise.all([ch.connectToHost(1234), listener.accept()]);
    return {
      a: expectOk(a),
      b: expectOk(b),
      cleanup: async () => {
        await listener.closeAll();
        await ch.close();
        tmp.remove();
      },
    };
  },
});

describe('Cloud Hypervisor @ae44c297', () => {
  let tmp: ReturnType<typeof socketDir>;
  let uds: string;
  let ch: HybridVmmDouble;

  beforeEach(async () => {
    tmp = socketDir();
    uds = join(tmp.dir, 'ch.vsock');
    ch = await startCloudHypervisorDouble(uds);
  });

  afterEach(async () => {
    await ch.close();
    tmp.remove();
  });

  test('half-close since 01593ad1: after our shutdownWrite the guest reads EOF and still sends; its shutdown gives us EOF', async () => {
    const guest = ch.listen(1234);
    const flow = expectOk(await connectHybrid(address(uds, 1234)));
    expect(flow.ackPort).toBeGreaterThanOrEqual(2 ** 30);
    expect(flow.ackPort).toBeLessThan(2 ** 31);
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('request')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(g)).toString()).toBe('request');
    expectOk(await g.write(Buffer.from('response after your EOF')));
    expectOk(await g.shutdownWrite());
    expect((await readAll(flow)).toString()).toBe('response after your EOF');
    expect(flow.readState).toBe('eof');
    await Promise.all([flow.close(), g.close()]);
  });

  test('the command is read exactly as sent, and bytes behind it are not swallowed', async () => {
    const guest = ch.listen(77);
    const flow = expectOk(await connectHybrid(address(uds, 77)));
    expect(ch.commands).toEqual([Buffer.from('CONNECT 77\n')]);
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('first')));
    expect((await readBytes(g, 5)).toString()).toBe('first');
    flow.abort();
    g.abort();
  });

  test('Cloud Hypervisor reads a command sent in pieces (48de8007); Firecracker would drop it', async () => {
    // Not our client (it writes one piece): a raw socket that types the command slowly.
    const guest = ch.listen(88);
    const socket = netConnect({ path: uds });
    const reply: Buffer[] = [];
    socket.on('data', (d: Buffer) => reply.push(d));
    for (const piece of ['conn', 'ect', ' 8', '8\n']) {
      await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const g = expectOk(await guest.accept());
    await waitUntil(() => Buffer.concat(reply).includes(0x0a), 'the OK line');
    expect(Buffer.concat(reply).toString()).toBe(`OK ${2 ** 30}\n`);
    g.abort();
    socket.destroy();
  });

  test('EOF before the newline: Cloud Hypervisor drops the stream (issue #6798)', async () => {
    const socket = netConnect({ path: uds });
    await new Promise<void>((resolve) => socket.end('connect 5', () => resolve()));
    await waitUntil(() => ch.commands.length === 1, 'the command');
    expect(ch.commands[0]?.toString()).toBe('connect 5');
    await waitUntil(() => ch.openHostStreams === 0, 'the stream to be dropped');
    socket.destroy();
  });

  test('a guest that resets right after accepting: we get the OK, then EOF', async () => {
    const guest = ch.listen(3);
    const pending = connectHybrid(address(uds, 3));
    // The guest resets at once: Cloud Hypervisor had acknowledged already, then drops the stream.
    expectOk(await guest.accept()).abort();
    const flow = expectOk(await pending);
    expect(expectOk(await flow.read())).toBe(EOF);
    flow.abort();
  });
});
