// Our Hyperkit client and listener against a byte-exact double of Hyperkit's virtio-sock
// (moby/hyperkit @3cb0d547, src/lib/pci_virtio_sock.c; §2.7). Hyperkit runs only on macOS;
// see test/support/hyperkit-double.ts.
import { join } from 'node:path';
import { describeFlowConformance } from '@flow/conformance';
import { EOF } from '@flow/core';
import type { HyperkitAddress } from '../src/address/types';
import { HYPERKIT_CAPABILITIES } from '../src/hyperkit/capabilities';
import { connectHyperkit } from '../src/hyperkit/connect';
import { listenHyperkit } from '../src/hyperkit/listen';
import { maxSocketPathBytes } from '../src/unix/path-limit';
import { HyperkitDouble } from './support/hyperkit-double';
import { expectErr, expectOk, noPipeHandlesLeftAbove, pipeHandles, readAll, readBytes, socketDir, waitUntil } from './support/unix-flow-io';

const at = (dir: string, port: number, cid?: number): HyperkitAddress => ({ kind: 'hyperkit', dir, port, cid });

describeFlowConformance({
  name: 'hyperkit host → guest through Hyperkit @3cb0d547: a = connectHyperkit, b = the guest end',
  capabilities: HYPERKIT_CAPABILITIES,
  maxBytes: 16 * 1024 * 1024,
  makePair: async () => {
    const tmp = socketDir();
    const hyperkit = await HyperkitDouble.start(tmp.dir);
    const guest = hyperkit.listen(0x5653);
    const [a, b] = await Promise.all([connectHyperkit(at(tmp.dir, 0x5653)), guest.accept()]);
    return {
      a: expectOk(a),
      b: expectOk(b),
      cleanup: async () => {
        await hyperkit.close();
        tmp.remove();
      },
    };
  },
});

describeFlowConformance({
  name: 'hyperkit guest → host through Hyperkit @3cb0d547: a = the guest end, b = listenHyperkit',
  capabilities: HYPERKIT_CAPABILITIES,
  maxBytes: 16 * 1024 * 1024,
  makePair: async () => {
    const tmp = socketDir();
    const hyperkit = await HyperkitDouble.start(tmp.dir);
    const listener = expectOk(await listenHyperkit(at(tmp.dir, 80)));
    const [a, b] = await Promise.all([hyperkit.connectToHost(80), listener.accept()]);
    return {
      a: expectOk(a),
      b: expectOk(b),
      cleanup: async () => {
        await listener.closeAll();
        await hyperkit.close();
        tmp.remove();
      },
    };
  },
});

describe('Hyperkit @3cb0d547', () => {
  let tmp: ReturnType<typeof socketDir>;
  let hyperkit: HyperkitDouble;

  beforeEach(async () => {
    tmp = socketDir();
    hyperkit = await HyperkitDouble.start(tmp.dir);
  });

  afterEach(async () => {
    await hyperkit.close();
    tmp.remove();
  });

  test('the header is the 18 bytes "00000003.00005653\\n", read in one read; bytes written at once follow it', async () => {
    const guest = hyperkit.listen(0x5653);
    const flow = expectOk(await connectHyperkit(at(tmp.dir, 0x5653)));
    expect(flow.remote).toEqual(at(tmp.dir, 0x5653));
    expect(flow.local).toBeUndefined();
    expect(flow.capabilities.notes?.join('\n')).toContain('no acknowledgement');
    // Written before Hyperkit has even read the header: it must end up behind it, for the guest.
    expectOk(await flow.write(Buffer.from('right behind the header')));
    const g = expectOk(await guest.accept());
    expect(hyperkit.requests.map((r) => r.raw.toString('latin1'))).toEqual(['00000003.00005653\n']);
    expect((await readBytes(g, 23)).toString()).toBe('right behind the header');
    flow.abort();
    g.abort();
  });

  test('half-close both ways: our EOF is SHUTDOWN_TX (the guest still sends), the guest shutdown is our EOF', async () => {
    const guest = hyperkit.listen(22);
    const flow = expectOk(await connectHyperkit(at(tmp.dir, 22)));
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('question')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(g)).toString()).toBe('question');
    expectOk(await g.write(Buffer.from('answer')));
    expectOk(await g.shutdownWrite());
    expect((await readAll(flow)).toString()).toBe('answer');
    await Promise.all([flow.close(), g.close()]);
  });

  test('a VM with guest_cid=7 takes cid 7, and closes a connection for cid 3: no ack, so the first read is EOF', async () => {
    const other = socketDir();
    const vm7 = await HyperkitDouble.start(other.dir, 7);
    try {
      const guest = vm7.listen(80);
      const ok7 = expectOk(await connectHyperkit(at(other.dir, 80, 7)));
      expectOk(await guest.accept()).abort();
      ok7.abort();
      const wrong = expectOk(await connectHyperkit(at(other.dir, 80)));
      expect(expectOk(await wrong.read())).toBe(EOF);
      expect(vm7.requests.map((r) => r.cid)).toEqual([7, 3]);
      wrong.abort();
    } finally {
      await vm7.close();
      other.remove();
    }
  });

  test('no guest listener: Hyperkit closes the connection, the first read is EOF', async () => {
    const flow = expectOk(await connectHyperkit(at(tmp.dir, 9999)));
    expect(expectOk(await flow.read())).toBe(EOF);
    await waitUntil(() => hyperkit.openStreams === 0, 'hyperkit to close');
    flow.abort();
  });

  test('guest → host: Hyperkit connects to <dir>/00000002.%08x, no header', async () => {
    const listener = expectOk(await listenHyperkit(at(tmp.dir, 0x1234), { mode: 0o600 }));
    expect(listener.path).toBe(join(tmp.dir, '00000002.00001234'));
    const g = expectOk(await hyperkit.connectToHost(0x1234));
    const flow = expectOk(await listener.accept());
    expectOk(await g.write(Buffer.from('from the guest')));
    expectOk(await g.shutdownWrite());
    expect((await readAll(flow)).toString()).toBe('from the guest');
    expectOk(await flow.write(Buffer.from('from the host')));
    expectOk(await flow.close());
    expect((await readAll(g)).toString()).toBe('from the host');
    expectOk(await g.close());
    await listener.close();
  });
});

describe('connectHyperkit and listenHyperkit failures', () => {
  let tmp: ReturnType<typeof socketDir>;
  beforeEach(() => {
    tmp = socketDir();
  });
  afterEach(() => tmp.remove());

  test('no connect socket in the directory: not-found naming it, nothing left open', async () => {
    const baseline = pipeHandles();
    const error = expectErr(await connectHyperkit(at(tmp.dir, 80)));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain(join(tmp.dir, 'connect'));
    await noPipeHandlesLeftAbove(baseline);
  });

  test('a directory too long for <dir>/connect: invalid', async () => {
    const dir = join(tmp.dir, 'd'.repeat(maxSocketPathBytes() - tmp.dir.length - 'connect'.length - 1));
    expect(Buffer.byteLength(join(dir, 'connect'))).toBe(maxSocketPathBytes() + 1);
    const error = expectErr(await connectHyperkit(at(dir, 80)));
    expect(error.kind).toBe('invalid');
    const listenError = expectErr(await listenHyperkit(at(dir, 80)));
    expect(listenError.kind).toBe('invalid');
  });

  test('the signal aborted before the call: aborted', async () => {
    expect(expectErr(await connectHyperkit(at(tmp.dir, 80), { signal: AbortSignal.abort() })).kind).toBe('aborted');
  });

  test('a live listener for the port: in-use; once it closed, the port binds again', async () => {
    const first = expectOk(await listenHyperkit(at(tmp.dir, 80)));
    expect(expectErr(await listenHyperkit(at(tmp.dir, 80))).kind).toBe('in-use');
    await first.close();
    const again = expectOk(await listenHyperkit(at(tmp.dir, 80)));
    await again.close();
  });

  test('bad arguments are programmer errors', () => {
    expect(() => connectHyperkit(at(tmp.dir, -1))).toThrow(RangeError);
    expect(() => connectHyperkit(at(tmp.dir, 1, 2 ** 32))).toThrow(RangeError);
    expect(() => connectHyperkit(at('', 1))).toThrow(TypeError);
    expect(() => listenHyperkit(at(tmp.dir, 2 ** 32))).toThrow(RangeError);
  });
});
