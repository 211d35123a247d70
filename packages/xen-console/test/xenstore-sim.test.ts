import { pair } from '@flow/core';
import { SimXenstored } from '../src/sim/xenstored/server';
import type { CommitEvent } from '../src/sim/xenstored/committed-op';
import { XsType, type XenstoreClient, type XsOps } from '../src/xenstore';
import { header, RawPeer, shown } from './support/xenstore-peer';
import { failure, tempDir, until, value } from './support/xenstore-support';

let server: SimXenstored;
const clients: XenstoreClient[] = [];

function connect(domid: number): XenstoreClient {
  const c = value(server.connect(domid));
  clients.push(c);
  return c;
}

/** A scripted client on an in-process connection of domain `domid`. */
function rawClient(domid: number, capacity = 1 << 20): RawPeer {
  const [serverEnd, clientEnd] = pair({ capacity });
  value(server.serveFlow(serverEnd, { domid, kind: 'domain' }));
  return new RawPeer(clientEnd);
}

function request(type: number, payload: string, reqId = 1, txId = 0): { type: number; reqId: number; txId: number; payload: Buffer } {
  return { type, reqId, txId, payload: Buffer.from(payload, 'latin1') };
}

beforeEach(() => {
  server = new SimXenstored();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

describe('the store', () => {
  it('starts with /local/domain/0 owned by dom0', () => {
    expect(server.tree.paths()).toEqual(['/', '/local', '/local/domain', '/local/domain/0']);
    expect(server.tree.perms('/')).toEqual([{ access: 'n', domid: 0 }]);
    expect(server.tree.canRead(3, '/local')).toBe(false);
    expect(server.tree.canRead(0, '/local')).toBe(true);
  });

  it('records every committed change with its author and transaction', async () => {
    const dom0 = connect(0);
    server.introduceDomain(3);
    server.clearRecord();
    value(await dom0.write('/a', 'x'));
    value(await dom0.mkdir('/a')); // exists: no change, no record
    value(await dom0.transaction(async (tx) => {
      value(await tx.setPerms('/a', [{ access: 'r', domid: 0 }]));
      return tx.rm('/a');
    }));
    const guest = connect(3);
    value(await dom0.setPerms('/local/domain/3', [{ access: 'n', domid: 3 }]));
    value(await guest.write('k', 'v'));
    const ops = server.committed.map((o) => [o.type, o.path, o.value?.toString(), o.perms, o.domid, o.txId > 0]);
    expect(ops).toEqual([
      ['WRITE', '/a', 'x', undefined, 0, false],
      ['SET_PERMS', '/a', undefined, [{ access: 'r', domid: 0 }], 0, true],
      ['RM', '/a', undefined, undefined, 0, true],
      ['SET_PERMS', '/local/domain/3', undefined, [{ access: 'n', domid: 3 }], 0, false],
      ['WRITE', '/local/domain/3/k', 'v', undefined, 3, false],
    ]);
    const seqs = server.committed.map((o) => o.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  // The permission race of the reference (section 4, hostile-guest item 9): a frontend that
  // initialises between "write the nodes" and "set their permissions" sees a state node it
  // cannot write, and fails for good. The observer sees every state any client could see.
  it('lets a test observe the store between any two commits (permission race)', async () => {
    const dom0 = connect(0);
    server.introduceDomain(5);
    const front = '/local/domain/5/device/console/1';
    const badMoments: string[] = [];
    const watchRace = (event: CommitEvent): void => {
      const v = event.view;
      if (v.canRead(5, `${front}/state`) && !v.canWrite(5, `${front}/state`)) {
        badMoments.push(event.ops.map((o) => `${o.type} ${o.path}`).join(', '));
      }
    };
    const stop = server.onCommit(watchRace);
    const nodes = async (ops: XsOps): Promise<void> => {
      value(await ops.write(`${front}/state`, '1'));
      value(await ops.write(`${front}/backend-id`, '0'));
      value(await ops.setPerms(front, [{ access: 'n', domid: 5 }, { access: 'r', domid: 0 }]));
      value(await ops.setPerms(`${front}/state`, [{ access: 'n', domid: 5 }, { access: 'r', domid: 0 }]));
      value(await ops.setPerms(`${front}/backend-id`, [{ access: 'n', domid: 5 }, { access: 'r', domid: 0 }]));
    };
    await nodes(dom0); // the racy order: separate commits
    expect(badMoments.length).toBeGreaterThan(0);
    value(await dom0.rm('/local/domain/5/device'));
    badMoments.length = 0;
    value(await dom0.transaction(async (tx) => {
      await nodes(tx);
      return { ok: true, value: undefined };
    }));
    expect(badMoments).toEqual([]);
    expect(server.tree.canWrite(5, `${front}/state`)).toBe(true);
    stop();
  });

  it('keeps observers from breaking the server', async () => {
    const dom0 = connect(0);
    server.onCommit(() => {
      throw new Error('observer bug');
    });
    value(await dom0.write('/x', '1'));
    value(await dom0.write('/y', '1'));
    expect(server.observerErrors).toHaveLength(2);
  });
});

describe('requests on the wire', () => {
  it('answers an unknown or reply-only type with EINVAL and goes on', async () => {
    const peer = rawClient(0);
    for (const type of [99, 20, XsType.ERROR, XsType.WATCH_EVENT, XsType.INVALID]) {
      await peer.send(request(type, 'x\0', 7));
      const reply = await peer.next();
      expect([reply?.type, reply?.reqId, shown(reply)]).toEqual([XsType.ERROR, 7, 'EINVAL|']);
    }
    await peer.send(request(XsType.READ, '/local\0', 8));
    const ok = await peer.next();
    expect([ok?.type, ok?.reqId, shown(ok)]).toEqual([XsType.READ, 8, '']);
    await peer.flow.close();
  });

  it('answers malformed payloads with EINVAL', async () => {
    const peer = rawClient(0);
    const bad: Array<[number, string]> = [
      [XsType.READ, '/local'], // not NUL-terminated
      [XsType.READ, '/local//x\0'],
      [XsType.WRITE, 'no-separator'],
      [XsType.SET_PERMS, '/local\0q0\0'],
      [XsType.TRANSACTION_END, 'maybe\0'],
      [XsType.GET_DOMAIN_PATH, '1x\0'],
    ];
    for (const [type, payload] of bad) {
      await peer.send(request(type, payload));
      expect(shown(await peer.next())).toBe('EINVAL|');
    }
    await peer.flow.close();
  });

  it('kills a connection that sends a frame over 4096 bytes, and only that one', async () => {
    const dom0 = connect(0);
    const peer = rawClient(0);
    await peer.sendRaw(header(XsType.WRITE, 1, 0, 4097));
    await peer.untilEnded();
    await until(() => server.stats.killedConnections === 1, 'the kill to be counted');
    expect(server.stats.connections).toBe(1);
    value(await dom0.write('/still', 'alive'));
  });

  it('survives a client that disappears in the middle of a frame', async () => {
    const peer = rawClient(0);
    const frame = Buffer.concat([header(XsType.WRITE, 1, 0, 10), Buffer.from('/a\0')]);
    await peer.sendRaw(frame);
    await peer.flow.close({ timeoutMs: 1000 });
    await until(() => server.stats.connections === 0, 'the connection to go');
    expect(server.tree.exists('/a')).toBe(false);
  });

  it('echoes req_id and tx_id and lets replies be matched out of order', async () => {
    const peer = rawClient(0);
    await peer.send(request(XsType.TRANSACTION_START, '\0', 41));
    const started = await peer.next();
    const tx = Number(started!.payload.toString('latin1').replace('\0', ''));
    expect(tx).toBeGreaterThan(0);
    await peer.send(request(XsType.WRITE, '/t\0v', 42, tx));
    await peer.send(request(XsType.READ, '/t\0', 43, tx));
    await peer.send(request(XsType.READ, '/t\0', 44, 0));
    const replies = [await peer.next(), await peer.next(), await peer.next()];
    expect(replies.map((r) => [r?.reqId, r?.txId, shown(r)])).toEqual([
      [42, tx, 'OK|'],
      [43, tx, 'v'],
      [44, 0, 'ENOENT|'],
    ]);
    await peer.send(request(XsType.TRANSACTION_START, '\0', 45, tx));
    expect(shown(await peer.next())).toBe('EBUSY|');
    await peer.send(request(XsType.READ, '/t\0', 46, tx + 1000));
    expect(shown(await peer.next())).toBe('ENOENT|');
    await peer.send(request(XsType.TRANSACTION_END, 'T\0', 47, 0));
    expect(shown(await peer.next())).toBe('ENOENT|');
    await peer.flow.close();
  });

  it('stops reading a client that does not read its replies (outstanding quota)', async () => {
    const peer = rawClient(7, 256);
    const many = 2000;
    const sending = (async () => {
      for (let i = 1; i <= many; i++) await peer.send(request(XsType.GET_DOMAIN_PATH, '7\0', i));
    })();
    // The reader side is paused by never calling next(); wait until the server is stuck.
    await until(() => (server.connectionInfo()[0]?.queuedReplies ?? 0) >= 20, 'replies to pile up');
    const info = server.connectionInfo()[0];
    expect(info.queuedReplies).toBeLessThanOrEqual(20);
    // Now read everything: every request gets its reply, in order.
    for (let i = 1; i <= many; i++) {
      const r = await peer.next();
      expect(r?.reqId).toBe(i);
    }
    await sending;
    await peer.flow.close();
  });

  it('drops watch events for a client that does not read them, and counts them', async () => {
    server = new SimXenstored({ quota: { queuedEvents: 50 } });
    const dom0 = connect(0);
    const peer = rawClient(0, 256);
    await peer.send(request(XsType.WATCH, '/storm\0t\0', 1));
    for (let i = 0; i < 2000; i++) value(await dom0.write('/storm/x', String(i)));
    const info = server.connectionInfo().find((c) => c.id !== 1 && c.watches === 1)!;
    expect(info.queuedEvents).toBeLessThanOrEqual(50);
    expect(server.stats.droppedWatchEvents).toBeGreaterThan(1000);
    const first = await peer.next();
    expect(first?.type).toBe(XsType.WATCH);
    await peer.flow.close();
  });
});

describe('events that cannot be sent', () => {
  it('drops an event that would not fit in 4096 bytes instead of failing', async () => {
    const dom0 = connect(0);
    const peer = rawClient(0);
    const token = 't'.repeat(3000);
    await peer.send(request(XsType.WATCH, `/\0${token}\0`, 1));
    expect(shown(await peer.next())).toBe('OK|');
    expect((await peer.next())?.type).toBe(XsType.WATCH_EVENT);
    const long = `/${'x'.repeat(1500)}`;
    value(await dom0.write(long, '1'));
    value(await dom0.write('/short', '1'));
    const event = await peer.next();
    expect(shown(event)).toBe(`/short|${token}|`);
    expect(server.stats.droppedWatchEvents).toBe(1);
    await peer.flow.close();
  });
});

describe('quotas for unprivileged domains', () => {
  beforeEach(() => {
    server = new SimXenstored({ quota: { nodes: 5, nodeSize: 10, permissions: 2, watches: 2, transactions: 2, transactionOps: 3 } });
  });

  async function guestHome(domid: number): Promise<XenstoreClient> {
    server.introduceDomain(domid);
    value(await connect(0).setPerms(`/local/domain/${domid}`, [{ access: 'b', domid: 0 }]));
    return connect(domid);
  }

  it('limits nodes a domain owns', async () => {
    const g = await guestHome(3);
    for (let i = 0; i < 5; i++) value(await g.write(`n${i}`, 'x'));
    const e = failure(await g.write('n5', 'x'));
    expect([e.code, e.kind]).toEqual(['ENOSPC', 'limit']);
    value(await g.rm('n0'));
    value(await g.write('n5', 'x'));
    // dom0 is exempt.
    for (let i = 0; i < 10; i++) value(await connect(0).write(`/d0/${i}`, 'x'));
  });

  it('limits node size and permission entries', async () => {
    const g = await guestHome(3);
    expect(failure(await g.write('big', 'x'.repeat(11))).code).toBe('ENOSPC');
    value(await g.write('small', 'x'.repeat(10)));
    const three = [
      { access: 'n', domid: 3 },
      { access: 'r', domid: 0 },
      { access: 'r', domid: 4 },
    ] as const;
    expect(failure(await g.setPerms('small', three)).code).toBe('ENOSPC');
    value(await g.setPerms('small', three.slice(0, 2)));
  });

  it('limits watches (E2BIG), transactions and transaction size (ENOSPC)', async () => {
    const g = await guestHome(3);
    const w1 = value(await g.watch('a'));
    const w2 = value(await g.watch('b'));
    expect(failure(await g.watch('c')).code).toBe('E2BIG');
    await w1.close();
    const w3 = value(await g.watch('c'));
    await Promise.all([w2.close(), w3.close()]);

    const t1 = value(await g.request({ type: 'TRANSACTION_START' }, 0));
    const t2 = value(await g.request({ type: 'TRANSACTION_START' }, 0));
    expect(failure(await g.request({ type: 'TRANSACTION_START' }, 0)).code).toBe('ENOSPC');
    for (const t of [t1, t2]) if (t.type === 'TRANSACTION_START') value(await g.request({ type: 'TRANSACTION_END', commit: false }, t.txId));

    const big = await g.transaction(async (tx) => {
      for (let i = 0; i < 4; i++) {
        const r = await tx.write(`t${i}`, 'x');
        if (!r.ok) return r;
      }
      return { ok: true, value: undefined };
    });
    expect(failure(big).code).toBe('ENOSPC');
    expect(server.stats.transactions).toBe(0);
  });

  it('reads and sets quotas over the wire, for dom0 only', async () => {
    const dom0 = connect(0);
    const names = value(await dom0.request({ type: 'GET_QUOTA' }, 0));
    expect(names).toEqual({ type: 'GET_QUOTA', text: 'nodes node-size permissions watches transactions outstanding transaction-nodes' });
    expect(value(await dom0.request({ type: 'GET_QUOTA', quota: 'nodes' }, 0))).toEqual({ type: 'GET_QUOTA', text: '5' });
    value(await dom0.request({ type: 'SET_QUOTA', domid: 3, quota: 'nodes', value: 0 }, 0));
    expect(value(await dom0.request({ type: 'GET_QUOTA', domid: 3, quota: 'nodes' }, 0))).toEqual({ type: 'GET_QUOTA', text: '0' });
    expect(failure(await dom0.request({ type: 'GET_QUOTA', quota: 'bogus' }, 0)).code).toBe('EINVAL');
    const g = await guestHome(3);
    for (let i = 0; i < 8; i++) value(await g.write(`n${i}`, 'x')); // unlimited now
    expect(failure(await g.request({ type: 'GET_QUOTA' }, 0)).code).toBe('EACCES');
  });
});

describe('domains', () => {
  it('introduces and releases over the wire, firing the special watches', async () => {
    const dom0 = connect(0);
    const intro = value(await dom0.watch('@introduceDomain'));
    const rel = value(await dom0.watch('@releaseDomain'));
    value(await intro.next());
    value(await rel.next());
    value(await dom0.request({ type: 'INTRODUCE', domid: 9, mfn: '1234', port: 3 }, 0));
    expect(value(await intro.next())).toBe('@introduceDomain');
    expect(value(await dom0.request({ type: 'IS_DOMAIN_INTRODUCED', domid: 9 }, 0))).toEqual({ type: 'IS_DOMAIN_INTRODUCED', introduced: true });
    expect(server.tree.exists('/local/domain/9')).toBe(true);
    value(await dom0.request({ type: 'RELEASE', domid: 9 }, 0));
    expect(value(await rel.next())).toBe('@releaseDomain');
    expect(value(await dom0.request({ type: 'IS_DOMAIN_INTRODUCED', domid: 9 }, 0))).toEqual({ type: 'IS_DOMAIN_INTRODUCED', introduced: false });
    expect(server.tree.exists('/local/domain/9')).toBe(false);
    const guest = connect(9);
    expect(failure(await guest.request({ type: 'INTRODUCE', domid: 10, mfn: '1', port: 1 }, 0)).code).toBe('EACCES');
    await Promise.all([intro.close(), rel.close()]);
  });

  it('gives a SET_TARGET domain the access of its target', async () => {
    const dom0 = connect(0);
    server.introduceDomain(2);
    server.introduceDomain(3);
    value(await dom0.write('/local/domain/2/private', 'p'));
    value(await dom0.setPerms('/local/domain/2/private', [{ access: 'n', domid: 2 }]));
    const stub = connect(3);
    expect(failure(await stub.read('/local/domain/2/private')).code).toBe('EACCES');
    value(await dom0.request({ type: 'SET_TARGET', domid: 3, target: 2 }, 0));
    expect(value(await stub.read('/local/domain/2/private'))).toBe('p');
  });

  it('removes a connection\'s watches and transactions when it goes (leak accounting)', async () => {
    const c = connect(0);
    await c.watch('/a');
    await c.watch('/b');
    await c.request({ type: 'TRANSACTION_START' }, 0);
    expect(server.stats).toMatchObject({ connections: 1, watches: 2, transactions: 1 });
    await c.close();
    await until(() => server.stats.connections === 0, 'the connection to go');
    expect(server.stats).toMatchObject({ connections: 0, watches: 0, transactions: 0 });
  });

  it('resets watches and transactions on RESET_WATCHES', async () => {
    const c = connect(0);
    await c.request({ type: 'WATCH', path: '/a', token: 'x' }, 0);
    await c.request({ type: 'TRANSACTION_START' }, 0);
    value(await c.request({ type: 'RESET_WATCHES' }, 0));
    expect(server.stats).toMatchObject({ watches: 0, transactions: 0 });
  });
});

describe('other requests', () => {
  it('lists long directories in parts', async () => {
    const dom0 = connect(0);
    const names = Array.from({ length: 300 }, (_, i) => `child-with-a-longish-name-${i}`);
    value(await dom0.transaction(async (tx) => {
      for (const n of names) value(await tx.mkdir(`/big/${n}`));
      return { ok: true, value: undefined };
    }));
    expect(failure(await dom0.directory('/big')).code).toBe('E2BIG'); // would not fit in 4096 bytes
    const got: string[] = [];
    let offset = 0;
    for (;;) {
      const part = value(await dom0.request({ type: 'DIRECTORY_PART', path: '/big', offset }, 0));
      if (part.type !== 'DIRECTORY_PART') throw new Error('wrong reply');
      got.push(...part.children);
      offset += part.children.reduce((n, c) => n + c.length + 1, 0);
      if (part.complete) break;
    }
    expect(got).toEqual(names);
  });

  it('answers GET_FEATURE, SET_FEATURE and CONTROL', async () => {
    const dom0 = connect(0);
    expect(value(await dom0.request({ type: 'GET_FEATURE' }, 0))).toEqual({ type: 'GET_FEATURE', value: 0 });
    expect(failure(await dom0.request({ type: 'SET_FEATURE', domid: 1, value: 1 }, 0)).code).toBe('EINVAL');
    expect(value(await dom0.request({ type: 'CONTROL', args: ['help'] }, 0)).type).toBe('CONTROL');
    expect(failure(await dom0.request({ type: 'CONTROL', args: ['live-update'] }, 0)).code).toBe('EINVAL');
  });
});

describe('the Unix-socket listener', () => {
  it('refuses a path that exists, replaces a stale socket, and removes its socket on close', async () => {
    const tmp = tempDir();
    try {
      const path = `${tmp.dir}/xs.sock`;
      const first = value(await server.listen(path));
      expect(failure(await server.listen(path)).kind).toBe('in-use');
      await first.close();
      const { existsSync, writeFileSync } = await import('node:fs');
      expect(existsSync(path)).toBe(false);
      writeFileSync(`${tmp.dir}/file`, 'x');
      expect(failure(await server.listen(`${tmp.dir}/file`, { replace: true })).kind).toBe('in-use');
      const again = value(await server.listen(path));
      await again.close();
    } finally {
      tmp.remove();
    }
  });
});
