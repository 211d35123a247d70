// connectHypervOn / listenHypervOn as they run on Windows, with the Windows addon replaced by
// its double (test/support/windows-addon-double.ts): the TypeScript half of Hyper-V sockets,
// end to end on Linux. Whether the real addon and Windows behave like the double can only be
// checked on Windows.
import { createHash } from 'node:crypto';
import { EOF, ok, type Flow } from '@flow/core';
import { HV_GUID_LOOPBACK, HV_GUID_WILDCARD, serviceIdForPort, guidToBytes } from '../src/address/guid';
import type { HypervAddress } from '../src/address/types';
import { connectHypervOn } from '../src/hyperv/connect';
import type { HypervHost } from '../src/hyperv/host';
import { listenHypervOn, type HypervListener } from '../src/hyperv/listen';
import { patternBytes } from './support/bytes';
import { WindowsAddonDouble, WSA, type WindowsAddonDoubleOptions } from './support/windows-addon-double';

const SERVICE = serviceIdForPort(5000);
const SOME_VM = '5e0b7b3a-9c1d-4e0f-8a7b-0c1d2e3f4a5b';
const LISTEN: HypervAddress = { kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: SERVICE };
const TARGET: HypervAddress = { kind: 'hvsock', vmId: HV_GUID_LOOPBACK, serviceId: SERVICE };

function windows(options: WindowsAddonDoubleOptions = {}): { addon: WindowsAddonDouble; host: HypervHost } {
  const addon = new WindowsAddonDouble(options);
  return { addon, host: { platform: 'win32', loadBinding: () => ok(addon) } };
}

async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function listening(host: HypervHost, options = {}): Promise<HypervListener> {
  const r = await listenHypervOn(host, LISTEN, options);
  if (!r.ok) throw r.error;
  return r.value;
}

async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

describe('connect and accept', () => {
  it('connects, accepts with the peer address, moves data both ways, half-closes and closes', async () => {
    const { addon, host } = windows({ capacity: 16 * 1024 });
    const listener = await listening(host);
    expect(listener.address).toEqual(LISTEN);
    const [c, s] = await Promise.all([connectHypervOn(host, TARGET, { messageSize: 4096 }), listener.accept()]);
    if (!c.ok) throw c.error;
    if (!s.ok) throw s.error;
    const client = c.value;
    const server = s.value;
    expect(client.remote).toEqual(TARGET);
    expect(client.local).toEqual({ kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: '00000000-0000-0000-0000-000000000000' });
    expect(server.remote).toEqual({ kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: SERVICE });
    expect(server.local).toEqual(LISTEN);
    expect(client.label).toBe('hvsock://wildcard/00000000-0000-0000-0000-000000000000 -> hvsock://loopback/5000');
    expect(listener.connections).toBe(1);

    const up = patternBytes(300_000, 1);
    const down = patternBytes(200_000, 2);
    const [, , atServer, atClient] = await Promise.all([
      client.write(up).then(() => client.shutdownWrite()),
      server.write(down).then(() => server.shutdownWrite()),
      readAll(server),
      readAll(client),
    ]);
    expect(createHash('sha256').update(atServer).digest('hex')).toBe(createHash('sha256').update(up).digest('hex'));
    expect(atClient.equals(down)).toBe(true);
    const [cc, sc] = await Promise.all([client.close(), server.close()]);
    expect(cc.ok && sc.ok).toBe(true);
    await listener.close();
    await settle();
    expect(listener.connections).toBe(0);
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });

  it('sets HVSOCKET_CONNECT_TIMEOUT (at most 300000 ms) and HVSOCKET_CONNECTED_SUSPEND', async () => {
    const { addon, host } = windows();
    const listener = await listening(host);
    const c = await connectHypervOn(host, TARGET, { timeoutMs: 400_000, connectedSuspend: true });
    if (!c.ok) throw c.error;
    const client = addon.sockets.find((x) => x.connectTimeoutMs !== undefined);
    expect(client?.connectTimeoutMs).toBe(300_000);
    expect(client?.connectedSuspend).toBe(true);
    c.value.abort();
    await listener.closeAll();
  });
});

describe('connect failures', () => {
  it('is refused with the WSA name and what to check when nothing listens', async () => {
    const { addon, host } = windows();
    const r = await connectHypervOn(host, TARGET);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('refused');
    expect(r.error.code).toBe('ECONNREFUSED');
    expect(r.error.errno).toBe(111);
    expect(r.error.syscall).toBe('connect');
    expect(r.error.message).toContain('cannot connect to hvsock://loopback/5000: connect ECONNREFUSED (WSAECONNREFUSED 10061)');
    expect(r.error.message).toContain('registerServiceCommand()');
    await settle();
    expect(addon.openSockets).toBe(0);
  });

  it("reports Windows' own connect timeout as `timeout`", async () => {
    const { addon, host } = windows({ noListener: 'timeout' });
    const r = await connectHypervOn(host, TARGET, { timeoutMs: 60_000 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('timeout');
    expect(r.error.message).toContain('WSAETIMEDOUT 10060');
    expect(r.error.message).toContain('HVSOCKET_CONNECT_TIMEOUT');
    expect(addon.openSockets).toBe(0);
  });

  it('gives up after timeoutMs itself when Windows does not answer, and closes the socket', async () => {
    const { addon, host } = windows({ noListener: 'hang' });
    const r = await connectHypervOn(host, TARGET, { timeoutMs: 20 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('timeout');
    expect(r.error.message).toContain('timed out after 20 ms');
    await settle();
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });

  it('is aborted by the signal, closing the socket; a signal aborted beforehand opens nothing', async () => {
    const { addon, host } = windows({ noListener: 'hang' });
    const ac = new AbortController();
    const pending = connectHypervOn(host, TARGET, { signal: ac.signal });
    await settle();
    expect(addon.openSockets).toBe(1);
    ac.abort();
    const r = await pending;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('aborted');
    await settle();
    expect(addon.openSockets).toBe(0);
    const again = await connectHypervOn(host, TARGET, { signal: ac.signal });
    expect(again.ok).toBe(false);
    expect(addon.sockets).toHaveLength(1);
  });

  it('is unreachable with a hint for a VM id nobody runs', async () => {
    const { host } = windows({ unreachableVmIds: [guidToBytes(SOME_VM).toString('hex')] });
    const r = await connectHypervOn(host, { kind: 'hvsock', vmId: SOME_VM, serviceId: SERVICE });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('unreachable');
    expect(r.error.code).toBe('ENETUNREACH');
    expect(r.error.message).toContain('WSAENETUNREACH 10051');
    expect(r.error.message).toContain('vmIdLookupCommand()');
  });

  it('says when this Windows has no Hyper-V sockets at all', async () => {
    const { addon, host } = windows();
    addon.failNext('hvSocket', 10047);
    const r = await connectHypervOn(host, TARGET);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('unsupported');
    expect(r.error.code).toBe('EAFNOSUPPORT');
    expect(r.error.message).toContain('WSAEAFNOSUPPORT 10047');
    expect(r.error.message).toContain('Windows 10 or Windows Server 2016');
  });

  it('closes the socket when a socket option is refused', async () => {
    const { addon, host } = windows();
    addon.failNext('hvSetConnectTimeout', WSA.WSAEINVAL);
    const r = await connectHypervOn(host, TARGET, { timeoutMs: 1000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('cannot set HVSOCKET_CONNECT_TIMEOUT to 1000 ms');
    expect(addon.openSockets).toBe(0);
  });
});

describe('the listener', () => {
  it('refuses a second listener on the same service as in-use', async () => {
    const { addon, host } = windows();
    const first = await listening(host);
    const second = await listenHypervOn(host, LISTEN);
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.error.kind).toBe('in-use');
      expect(second.error.message).toContain('WSAEADDRINUSE 10048');
      expect(second.error.message).toContain(`another socket is already bound to service ${SERVICE}`);
    }
    await first.close();
    await settle();
    expect(addon.openSockets).toBe(0);
  });

  it('close() cancels the pending accept: accept() then says closed, and new connections are refused', async () => {
    const { addon, host } = windows();
    const listener = await listening(host);
    const waiting = listener.accept();
    await listener.close();
    const r = await waiting;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('closed');
    expect(listener.closedForAccept).toBe(true);
    const c = await connectHypervOn(host, TARGET);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error.kind).toBe('refused');
    await settle();
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });

  it('closes connections beyond maxConnections at once: that client reads the end of the stream', async () => {
    const { host } = windows();
    const listener = await listening(host, { maxConnections: 1 });
    const first = await connectHypervOn(host, TARGET);
    const accepted = await listener.accept();
    const second = await connectHypervOn(host, TARGET);
    if (!first.ok || !second.ok || !accepted.ok) throw new Error('connect or accept failed');
    const r = await second.value.read();
    expect(r.ok && r.value === EOF).toBe(true);
    expect(listener.connections).toBe(1);
    second.value.abort();
    first.value.abort();
    await listener.closeAll();
    expect(listener.connections).toBe(0);
  });

  it('takes the next connection after a peer gave up mid-accept', async () => {
    const { host, addon } = windows();
    addon.failNext('hvAccept', WSA.WSAECONNRESET);
    const listener = await listening(host);
    const [c, s] = await Promise.all([connectHypervOn(host, TARGET), listener.accept()]);
    expect(c.ok && s.ok).toBe(true);
    await listener.closeAll();
    if (c.ok) c.value.abort();
  });

  it('stops on an accept failure it cannot recover from, and says why', async () => {
    const { host, addon } = windows();
    addon.failNext('hvAccept', WSA.WSAEINVAL);
    const listener = await listening(host);
    const r = await listener.accept();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toContain('the listener on hvsock://wildcard/5000 stopped');
      expect(r.error.message).toContain('WSAEINVAL 10022');
    }
    expect(listener.closedForAccept).toBe(true);
    await listener.close();
    expect(addon.openSockets).toBe(0);
  });

  it('closeAll ends live flows and releases every socket', async () => {
    const { addon, host } = windows();
    const listener = await listening(host);
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const [c, s] = await Promise.all([connectHypervOn(host, TARGET), listener.accept()]);
      if (!c.ok || !s.ok) throw new Error('connect or accept failed');
      clients.push(c.value);
    }
    expect(listener.connections).toBe(3);
    await listener.closeAll();
    expect(listener.connections).toBe(0);
    for (const c of clients) {
      const r = await c.read();
      expect(r.ok && r.value === EOF).toBe(true);
      c.abort();
    }
    await settle();
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });
});
