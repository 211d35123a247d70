// The backend's life around the data path: requestClose / forceClose as mirage's conback has
// them, the primary console only as an explicit opt-in, `limit` trusted only when the guest
// cannot have written it, and watchConsoles as consoles come and go.
import { EOF, err, FlowError, OK } from '@flow/core';
import { connectConsole, connectFrontend, consoleNodes, destroyConsole, watchConsoles, type ConsoleEntry } from '../src';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { SabPage } from '../src/sim/sab-page';
import type { SimXen } from '../src/sim/sim-xen';
import { pattern, ScriptedGuest } from './support/backend-guest';
import { connectBackend, create, dom0Holds, dom0Xs, failure, GUEST, must, node, readToEnd, readUpTo, settles, startSim, turns, until } from './support/backend-harness';

const FRONT = `/local/domain/${GUEST}/device/console/1`;
const BACK = `/local/domain/0/backend/console/${GUEST}/1`;

let sim: SimXen;
beforeEach(async () => {
  sim = await startSim();
});
afterEach(async () => {
  await sim.close();
});

async function linuxLikePair(): Promise<{ back: Awaited<ReturnType<typeof connectConsole>>; front: Awaited<ReturnType<typeof connectFrontend>> }> {
  await create(sim);
  const [back, front] = await Promise.all([
    connectBackend(sim).result,
    connectFrontend({ platform: sim.platform(GUEST), devid: 1, page: new SabPage(), timeoutMs: 5000 }),
  ]);
  return { back, front };
}

describe('closing from the backend side', () => {
  test('requestClose: backend Closing, the Linux-like guest closes, and the backend ends with EOF and lets go of everything', async () => {
    const { back: b, front: f } = await linuxLikePair();
    const back = must(b);
    const front = must(f);
    must(await front.flow.write(Buffer.from('bye from the guest')));
    must(await back.requestClose());
    expect(node(sim, `${BACK}/state`)).toBe('5');
    // The guest sees Closing and closes its end (Linux: xenbus_frontend_closed).
    const guestEnd = await front.flow.read();
    expect(guestEnd.ok && guestEnd.value).toBe(EOF);
    await until(() => node(sim, `${FRONT}/state`) === '6', 'frontend Closed');
    const got = await readUpTo(back, Number.POSITIVE_INFINITY);
    expect(got.data.toString()).toBe('bye from the guest');
    expect(got.end).toBe('eof');
    await until(() => dom0Holds(sim).mappings === 0 && dom0Holds(sim).dom0Ports === 0, 'the backend unmapped and unbound');
    expect(node(sim, `${BACK}/state`)).toBe('6');
    await back.close();
    await front.flow.close();
    await until(() => sim.accounting().grants === 0, 'the guest ended its grant');
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  });

  test('forceClose: dom0 sets the frontend Closed; the backend ends with EOF and unmaps', async () => {
    const { back: b, front: f } = await linuxLikePair();
    const back = must(b);
    const front = must(f);
    must(await back.forceClose());
    expect(node(sim, `${FRONT}/state`)).toBe('6');
    const r = await back.read();
    expect(r.ok && r.value).toBe(EOF);
    await until(() => dom0Holds(sim).mappings === 0 && dom0Holds(sim).dom0Ports === 0, 'the backend unmapped and unbound');
    const w = await back.write(Buffer.from('too late'));
    expect(failure(w).kind).toBe('closed');
    await back.close();
    front.flow.abort();
  });

  test('close() is idempotent; disconnect() never throws; log() after close does nothing', async () => {
    const { back: b, front: f } = await linuxLikePair();
    const back = must(b);
    const front = must(f);
    const [c1, c2] = await Promise.all([back.close(), back.close()]);
    expect(c1.ok && c2.ok).toBe(true);
    await expect(back.disconnect()).resolves.toBeUndefined();
    await expect(back.log('ignored')).resolves.toBeUndefined();
    expect(back.disconnected).toBe(true);
    expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
    front.flow.abort();
  });
});

test.each([
  ['eventsPerPeriod 0', { policy: { eventsPerPeriod: 0 } }],
  ['periodMs -1', { policy: { periodMs: -1 } }],
  ['a discardMiddle cap of 2 bytes', { policy: { overflow: 'discardMiddle' as const, maxBufferedBytes: 2 } }],
  ['a block buffer of 0 bytes', { policy: { maxBufferedBytes: 0 } }],
  ['an unknown overflow policy', { policy: { overflow: 'drop' as unknown as 'block' } }],
  ['a negative handshake timeout', { handshakeTimeoutMs: -5 }],
])('bad options (%s) are programmer errors, thrown before anything is opened or mapped', async (_name, options) => {
  await create(sim);
  const guest = await ScriptedGuest.start(sim, GUEST);
  await guest.initialise();
  const { probe, result } = connectBackend(sim, options);
  await expect(result).rejects.toThrow(RangeError);
  expect(probe.maps).toEqual([]);
  expect(sim.xenstored.connectionInfo().filter((c) => c.domid === 0)).toEqual([]);
  await guest.close();
});

test('a backend that cannot serve the guest says so (Closing), and the Linux-like frontend gives up at once instead of at its timeout', async () => {
  await create(sim);
  const dom0 = sim.platform(0);
  const refusing = { ...dom0, mapGrant: async () => err(new FlowError('permission', 'gntdev refused the map')) };
  const guest = connectFrontend({ platform: sim.platform(GUEST), devid: 1, page: new SabPage(), timeoutMs: 60_000 });
  const [back, guestSettled] = await Promise.all([connectConsole({ platform: refusing, domid: GUEST, devid: 1 }), settles(guest)]);
  expect(failure(back).kind).toBe('permission');
  expect(node(sim, `${BACK}/state`)).toBe('5');
  expect(guestSettled).toBe(true);
  expect(failure(await guest).kind).toBe('refused');
  expect(node(sim, `${FRONT}/state`)).toBe('6');
  expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0 });
});
test('the platform closed under an open flow (its page unmapped beneath it): writes fail with closed and reads end, no use after unmap', async () => {
  await create(sim);
  const guest = await ScriptedGuest.start(sim, GUEST);
  const { probe, result } = connectBackend(sim);
  await guest.initialise();
  const back = must(await result);
  guest.produce(Buffer.from('before'));
  guest.notify();
  expect((await readUpTo(back, 6)).data.toString()).toBe('before');
  probe.platform.close();
  expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  const w = await back.write(Buffer.from('after'));
  expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
  const r = await back.read();
  expect(r.ok && r.value).toBe(EOF);
  await back.close();
  await guest.close();
});

describe('half-close through the XenbusState', () => {
  test('shutdownWrite waits until the Linux-like guest has read its input, then sets the backend Closing; the guest reads it all, EOF, closes; the backend reads the rest, EOF', async () => {
    const { back: b, front: f } = await linuxLikePair();
    const back = must(b);
    const front = must(f);
    const input = pattern(3000, 7); // three rings' worth of input
    must(await back.write(input));
    const shut = back.shutdownWrite();
    must(await front.flow.write(Buffer.from('guest output')));
    must(await shut);
    // Closing came only after the guest had read every byte: nothing it was given is lost.
    expect(node(sim, `${BACK}/state`)).toBe('5');
    const guestGot = await readToEnd(front.flow);
    expect(guestGot).toEqual({ data: input, end: 'eof' });
    // A Linux guest answers Closing by closing its console: its output ends too.
    await until(() => node(sim, `${FRONT}/state`) === '6', 'frontend Closed');
    expect(await readToEnd(back)).toEqual({ data: Buffer.from('guest output'), end: 'eof' });
    expect(failure(await back.write(Buffer.from('late'))).kind).toBe('closed');
    await back.close();
    await front.flow.close();
    await until(() => sim.accounting().grants === 0, 'the guest ended its grant');
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  });

  test('a guest with halfClose keeps writing after the backend shut down, and its own shutdownWrite ends the backend\'s reads', async () => {
    await create(sim);
    const [b, f] = await Promise.all([
      connectBackend(sim).result,
      connectFrontend({ platform: sim.platform(GUEST), devid: 1, page: new SabPage(), timeoutMs: 5000, halfClose: true }),
    ]);
    const back = must(b);
    const front = must(f);
    must(await back.write(Buffer.from('from dom0')));
    must(await back.shutdownWrite());
    expect(await readToEnd(front.flow)).toEqual({ data: Buffer.from('from dom0'), end: 'eof' });
    must(await front.flow.write(Buffer.from('still talking')));
    expect((await readUpTo(back, 13)).data.toString()).toBe('still talking');
    must(await front.flow.shutdownWrite());
    expect(node(sim, `${FRONT}/state`)).toBe('5');
    expect(await readToEnd(back)).toEqual({ data: Buffer.alloc(0), end: 'eof' });
    await back.close();
    await front.flow.close();
    await until(() => sim.accounting().grants === 0, 'the guest ended its grant');
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  });

  test('a guest that never reads its input: shutdownWrite waits (the backend stays Connected), and close() still completes at once', async () => {
    await create(sim);
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim);
    await guest.initialise();
    const back = must(await result);
    must(await back.write(Buffer.from('unread')));
    const shut = back.shutdownWrite();
    await turns(50);
    expect(node(sim, `${BACK}/state`)).toBe('4');
    expect(await settles(back.close())).toBe(true);
    must(await shut);
    expect(node(sim, `${BACK}/state`)).toBe('6');
    expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
    await guest.close();
  });

  test("the guest's close() does not wait for a backend that does not read: a write waiting for room fails with closed, and the shutdownWrite behind it", async () => {
    const { back: b, front: f } = await linuxLikePair();
    const back = must(b);
    const front = must(f);
    // dom0 reads nothing: its buffer (64 KiB) fills, then the guest's output ring.
    const writing = front.flow.write(pattern(256 * 1024, 5));
    await turns(200);
    const shut = front.flow.shutdownWrite();
    expect(await settles(front.flow.close())).toBe(true);
    // The write that waited for room failed with closed (what the ring took stays there), and
    // the shutdownWrite queued behind it says so.
    expect(failure(await writing).kind).toBe('closed');
    expect(failure(await shut).kind).toBe('closed');
    expect(node(sim, `${FRONT}/state`)).toBe('6');
    await back.close();
  });

  test("the guest's reader is full when the backend goes Closing: what is still in its input ring is read too, then EOF", async () => {
    await create(sim);
    const page = new SabPage();
    const [b, f] = await Promise.all([connectBackend(sim).result, connectFrontend({ platform: sim.platform(GUEST), devid: 1, page, timeoutMs: 5000 })]);
    const back = must(b);
    const front = must(f);
    const data = pattern(1024 * 1024, 3); // more than the guest buffers for its reader (256 KiB) and its ring
    const writing = back.write(data);
    // Nobody reads on the guest: its buffer fills to the high-water mark, then its input ring.
    const inRing = (): number => (page.loadU32(CONSOLE_LAYOUT.IN_PROD) - page.loadU32(CONSOLE_LAYOUT.IN_CONS)) >>> 0;
    await until(() => inRing() === CONSOLE_LAYOUT.IN_SIZE, 'the input ring to fill');
    const given = page.loadU32(CONSOLE_LAYOUT.IN_PROD);
    must(await back.requestClose());
    const got = await readToEnd(front.flow);
    expect(got.end).toBe('eof');
    expect(got.data.length).toBe(given);
    expect(got.data.equals(data.subarray(0, given))).toBe(true);
    const w = await writing;
    expect(!w.ok && w.error).toMatchObject({ kind: 'closed', bytesAccepted: given });
    await back.close();
    await front.flow.close();
  });
});

describe('the primary console (devid 0) is xenconsoled\'s unless asked for', () => {
  const PRIMARY = `/local/domain/${GUEST}/console`;

  /** What the domain builder and libxl do: the page as grant 0, the port, the read-only nodes. */
  async function toolstackPrimary(type: string): Promise<{ page: SabPage; guestPort: number }> {
    const page = new SabPage();
    must(sim.hypervisor.grants.grant(GUEST, page.buffer, 0, { writable: true, ref: 0 }));
    const port = must(await sim.hypervisor.domain(GUEST).bindUnbound(0));
    const xs = dom0Xs(sim);
    const ro = [{ access: 'n' as const, domid: 0 }, { access: 'r' as const, domid: GUEST }];
    must(
      await xs.transaction(async (tx) => {
        for (const [k, v] of [['', ''], ['type', type], ['port', String(port.local)], ['ring-ref', '259586'], ['limit', '1048576'], ['output', 'pty']]) {
          const path = k ? `${PRIMARY}/${k}` : PRIMARY;
          const w = await tx.write(path, v);
          if (!w.ok) return w;
          const p = await tx.setPerms(path, ro);
          if (!p.ok) return p;
        }
        return { ok: true as const, value: undefined };
      }),
    );
    await xs.close();
    return { page, guestPort: port.local };
  }

  function guestWrites(page: SabPage, text: string): void {
    const { OUT, OUT_PROD } = CONSOLE_LAYOUT;
    const prod = page.loadU32(OUT_PROD);
    page.writeBytes(OUT + (prod & 2047), Buffer.from(text));
    page.storeU32(OUT_PROD, prod + text.length);
  }

  test('devid 0 without { primary: true } is refused as a programmer error', async () => {
    await expect(connectConsole({ platform: sim.platform(0), domid: GUEST, devid: 0 })).rejects.toThrow(RangeError);
  });

  test('refused while type=xenconsoled, without mapping anything; served with force', async () => {
    const { page, guestPort } = await toolstackPrimary('xenconsoled');
    const refused = connectBackend(sim, { devid: 0, primary: true });
    expect(failure(await refused.result).kind).toBe('in-use');
    expect(refused.probe.maps).toEqual([]);
    expect(sim.xenstored.stats.connections).toBe(0);

    const forced = connectBackend(sim, { devid: 0, primary: true, force: true });
    const back = must(await forced.result);
    expect(forced.probe.maps).toEqual([{ domid: GUEST, ref: 0, writable: true }]);
    expect(forced.probe.binds).toEqual([{ domid: GUEST, port: guestPort }]);
    back.abort();
    expect(page.mapped).toBe(true);
  });

  test('served when the toolstack handed it over (type is not xenconsoled): data flows, and it stays open across xenstore changes (it has no state node)', async () => {
    const { page, guestPort } = await toolstackPrimary('flow');
    const back = must(await connectBackend(sim, { devid: 0, primary: true }).result);
    guestWrites(page, 'primary says hi');
    must(sim.hypervisor.events.send(GUEST, guestPort));
    expect((await readUpTo(back, 15)).data.toString()).toBe('primary says hi');
    // The toolstack fills in tty: a watch event, and no `state` node to read.
    const xs = dom0Xs(sim);
    must(await xs.write(`${PRIMARY}/tty`, '/dev/pts/3'));
    await turns(50);
    guestWrites(page, ' again');
    must(sim.hypervisor.events.send(GUEST, guestPort));
    const again = await readUpTo(back, 6);
    expect(again).toEqual({ data: Buffer.from(' again'), end: 'count' });
    // The domain dies: EOF.
    sim.destroyGuest(GUEST);
    const r = await back.read();
    expect(r.ok && r.value).toBe(EOF);
    await back.close();
    await xs.close();
    expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  });
});

describe('`limit` is trusted only when the guest cannot have written it', () => {
  /** Floods 200 KiB nobody reads, with discardMiddle and no explicit cap: the cap is the `limit`. */
  async function discardedWithLimitPerms(perms: Array<{ access: 'n' | 'r' | 'w' | 'b'; domid: number }> | undefined): Promise<number> {
    await create(sim, { limit: 8192 });
    if (perms) {
      const xs = dom0Xs(sim);
      must(await xs.setPerms(`${FRONT}/limit`, perms));
      await xs.close();
    }
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim, { policy: { overflow: 'discardMiddle', eventsPerPeriod: 100_000 } });
    await guest.initialise();
    const back = must(await result);
    const flood = guest.flood(pattern(200 * 1024, 9));
    expect(await flood.done).toBe(200 * 1024);
    await turns(20);
    const discarded = back.consoleStats.discardedBytes;
    back.abort();
    await guest.close();
    return discarded;
  }

  test('owned by dom0 and read-only to the guest: 8192 is the cap (the middle of an unread flood goes)', async () => {
    expect(await discardedWithLimitPerms(undefined)).toBeGreaterThan(100_000);
  });

  test('owned by the guest: ignored (the 1 MiB default holds a 200 KiB flood whole)', async () => {
    expect(await discardedWithLimitPerms([{ access: 'n', domid: GUEST }, { access: 'r', domid: 0 }])).toBe(0);
  });

  test('owned by dom0 but writable by the guest: ignored as well', async () => {
    expect(await discardedWithLimitPerms([{ access: 'n', domid: 0 }, { access: 'b', domid: GUEST }])).toBe(0);
  });

  test('owned by another unprivileged domain: ignored as well', async () => {
    expect(await discardedWithLimitPerms([{ access: 'n', domid: 9 }, { access: 'r', domid: GUEST }])).toBe(0);
  });
});

describe('watchConsoles', () => {
  test('added and removed as consoles come and go; junk directory names are never reported; names are never printed raw', async () => {
    const xs = dom0Xs(sim);
    const watcherXs = dom0Xs(sim);
    const abort = new AbortController();
    const seen: ConsoleEntry[] = [];
    const done = (async () => {
      for await (const entry of watchConsoles(watcherXs, { signal: abort.signal })) seen.push(entry);
    })();
    await create(sim, { devid: 1, name: 'serial-a' });
    await until(() => seen.length === 1, 'the first console');
    expect(seen[0]).toMatchObject({ kind: 'added', domid: GUEST, devid: 1, backend: BACK, frontend: FRONT, name: 'serial-a' });

    // Junk under our backend directory (a confused toolstack) is skipped.
    for (const junk of ['/local/domain/0/backend/console/abc/1', '/local/domain/0/backend/console/05/1', '/local/domain/0/backend/console/5/x', '/local/domain/0/backend/console/5/12', '/local/domain/0/backend/console/99999/1']) {
      must(await xs.write(`${junk}/frontend`, 'x'));
    }
    // A second console whose name carries terminal escapes, from a toolstack that allowed it.
    const nodes = consoleNodes({ domid: GUEST, devid: 2 });
    must(
      await xs.transaction(async (tx) => {
        for (const n of [...nodes.dirs, ...nodes.keys, { path: `${nodes.front}/name`, value: 'evil\u001b]0;owned\u0007\u001b[2J', perms: nodes.keys[0]?.perms ?? [] }]) {
          const w = await tx.write(n.path, n.value);
          if (!w.ok) return w;
          const p = await tx.setPerms(n.path, n.perms);
          if (!p.ok) return p;
        }
        return OK;
      }),
    );
    await until(() => seen.length === 2, 'the second console');
    expect(seen[1]).toMatchObject({ kind: 'added', domid: GUEST, devid: 2, name: 'evil?]0;owned??[2J' });
    expect(JSON.stringify(seen)).not.toMatch(/\\u001b|\\u0007/);

    must(await destroyConsole(xs, { domid: GUEST, devid: 1 }));
    await until(() => seen.length === 3, 'the removal');
    expect(seen[2]).toMatchObject({ kind: 'removed', domid: GUEST, devid: 1 });
    await turns(20);
    expect(seen.map((e) => `${e.kind} ${e.domid}/${e.devid}`)).toEqual(['added 5/1', 'added 5/2', 'removed 5/1']);

    abort.abort();
    await done;
    await watcherXs.close();
    await xs.close();
    expect(sim.xenstored.stats.watches).toBe(0);
  });

  test('primary consoles only when asked; at most maxConsoles tracked', async () => {
    const xs = dom0Xs(sim);
    for (const devid of [0, 1, 2, 3]) must(await xs.write(`/local/domain/0/backend/console/${GUEST}/${devid}/frontend`, 'x'));
    const take = async (options: Parameters<typeof watchConsoles>[1], n: number): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of watchConsoles(xs, options)) {
        out.push(`${e.domid}/${e.devid}`);
        if (out.length === n) break;
      }
      return out;
    };
    expect((await take({}, 3)).sort()).toEqual(['5/1', '5/2', '5/3']);
    expect((await take({ includePrimary: true }, 4)).sort()).toEqual(['5/0', '5/1', '5/2', '5/3']);
    const abort = new AbortController();
    const capped: string[] = [];
    const run = (async () => {
      for await (const e of watchConsoles(xs, { maxConsoles: 2, signal: abort.signal })) capped.push(`${e.domid}/${e.devid}`);
    })();
    await turns(50);
    expect(capped).toHaveLength(2);
    abort.abort();
    await run;
    await xs.close();
    expect(sim.xenstored.stats.watches).toBe(0);
  });
});
