import { err, FlowError, ok, type Result } from '@flow/core';
import { SimXenstored } from '../src/sim/xenstored/server';
import { RETRY, type XenstoreClient, type XsOps, type XsWatch } from '../src/xenstore';
import { failure, until, value } from './support/xenstore-support';

let server: SimXenstored;
const clients: XenstoreClient[] = [];

function connect(domid: number): XenstoreClient {
  const c = value(server.connect(domid));
  clients.push(c);
  return c;
}

beforeEach(() => {
  server = new SimXenstored();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await until(() => server.stats.connections === 0, 'the server to see every client go');
  expect(server.stats).toMatchObject({ connections: 0, watches: 0, transactions: 0 });
  await server.close();
});

async function nextPath(w: XsWatch): Promise<string> {
  return value(await w.next());
}

describe('operations (client against the simulator)', () => {
  it('writes, reads, lists, gets permissions and removes', async () => {
    const xs = connect(0);
    value(await xs.write('/vm/1/name', 'guest'));
    value(await xs.write('/vm/1/bin', new Uint8Array([0x68, 0x69])));
    expect(value(await xs.read('/vm/1/name'))).toBe('guest');
    expect(value(await xs.read('/vm/1/bin'))).toBe('hi');
    expect(value(await xs.read('/vm/1'))).toBe(''); // WRITE created the parent with an empty value
    expect(value(await xs.directory('/vm/1')).sort()).toEqual(['bin', 'name']);
    expect(value(await xs.directory('/vm/1/name'))).toEqual([]);
    expect(value(await xs.getPerms('/vm/1/name'))).toEqual([{ access: 'n', domid: 0 }]);
    value(await xs.rm('/vm/1'));
    expect(failure(await xs.read('/vm/1/name')).kind).toBe('not-found');
    expect(failure(await xs.read('/vm/1/name')).code).toBe('ENOENT');
    // RM of a missing node is fine if its parent exists, an error if not.
    value(await xs.rm('/vm/1'));
    expect(failure(await xs.rm('/vm/1/x')).code).toBe('ENOENT');
    expect(failure(await xs.rm('/')).code).toBe('EINVAL');
  });

  it('makes directories, leaving existing ones alone', async () => {
    const xs = connect(0);
    value(await xs.mkdir('/d/e/f'));
    expect(value(await xs.read('/d/e/f'))).toBe('');
    value(await xs.write('/d/e', 'kept'));
    value(await xs.mkdir('/d/e'));
    expect(value(await xs.read('/d/e'))).toBe('kept');
  });

  it('sets permissions and reads them back', async () => {
    const xs = connect(0);
    value(await xs.mkdir('/p'));
    const perms = [
      { access: 'n', domid: 3 },
      { access: 'r', domid: 0 },
      { access: 'b', domid: 7 },
    ] as const;
    value(await xs.setPerms('/p', perms));
    expect(value(await xs.getPerms('/p'))).toEqual(perms);
    expect(() => xs.setPerms('/p', [])).toThrow(TypeError);
    expect(failure(await xs.setPerms('/missing/x', perms)).code).toBe('ENOENT');
  });

  it('answers GET_DOMAIN_PATH', async () => {
    const xs = connect(0);
    expect(value(await xs.getDomainPath(7))).toBe('/local/domain/7');
    expect(() => xs.getDomainPath(-1)).toThrow(RangeError);
  });

  it('validates paths and sizes before sending', async () => {
    const xs = connect(0);
    for (const p of ['/a//b', '/a/', '/a b', '', '/\u00e9']) expect(failure(await xs.read(p)).kind).toBe('invalid');
    const socketLike = value(server.connect(0, { allowRelativePaths: false }));
    clients.push(socketLike);
    expect(failure(await socketLike.read('relative')).kind).toBe('invalid');
    const big = failure(await xs.write('/big', 'x'.repeat(4096)));
    expect(big.kind).toBe('limit');
    expect(big.code).toBe('E2BIG');
    // The connection survives: nothing over the limit was sent.
    value(await xs.write('/ok', 'x'.repeat(4096 - '/ok'.length - 1)));
    expect(value(await xs.read('/ok'))).toHaveLength(4092);
  });

  it('pipelines many requests at once and matches every reply', async () => {
    const xs = connect(0);
    await Promise.all(Array.from({ length: 200 }, (_, i) => xs.write(`/many/${i}`, `v${i}`).then(value)));
    const reads = await Promise.all(Array.from({ length: 200 }, (_, i) => xs.read(`/many/${i}`)));
    expect(reads.map(value)).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
    expect(xs.stats.pendingRequests).toBe(0);
  });

  it('gives relative paths to domain connections', async () => {
    server.introduceDomain(4);
    const dom0 = connect(0);
    value(await dom0.setPerms('/local/domain/4', [{ access: 'n', domid: 4 }]));
    const guest = connect(4);
    value(await guest.write('data/x', '1'));
    expect(value(await dom0.read('/local/domain/4/data/x'))).toBe('1');
    expect(value(await guest.read('/local/domain/4/data/x'))).toBe('1');
  });

  it('ends operations with closed after close, and close is idempotent', async () => {
    const xs = connect(0);
    const pending = xs.read('/local');
    const closing = xs.close();
    expect(xs.close()).toBe(closing);
    const r = await pending;
    if (!r.ok) expect(r.error.kind).toBe('closed');
    await closing;
    const after = failure(await xs.read('/local'));
    expect(after.kind).toBe('closed');
    expect(failure(await xs.watch('/local')).kind).toBe('closed');
    expect(failure(await xs.transaction(async () => ok(1))).kind).toBe('closed');
  });
});

describe('permissions (client as a guest)', () => {
  it('hides nodes from a domain without access, without revealing whether they exist', async () => {
    const dom0 = connect(0);
    value(await dom0.write('/secret/key', 'x'));
    const guest = connect(5);
    const e = failure(await guest.read('/secret/key'));
    expect(e.kind).toBe('permission');
    expect(e.code).toBe('EACCES');
    // A missing node under an unreadable parent is EACCES too, not ENOENT.
    expect(failure(await guest.read('/secret/nothing')).code).toBe('EACCES');
    expect(failure(await guest.write('/secret/key', 'y')).code).toBe('EACCES');
  });

  it('lets the owner write and the ACL decide for others', async () => {
    server.introduceDomain(5);
    server.introduceDomain(6);
    const dom0 = connect(0);
    value(await dom0.mkdir('/local/domain/5/device'));
    value(
      await dom0.setPerms('/local/domain/5/device', [
        { access: 'n', domid: 5 },
        { access: 'r', domid: 6 },
      ]),
    );
    const five = connect(5);
    const six = connect(6);
    value(await five.write('device/state', '1'));
    // The creator (unprivileged) owns what it creates; the rest of the ACL is inherited.
    expect(value(await five.getPerms('device/state'))).toEqual([
      { access: 'n', domid: 5 },
      { access: 'r', domid: 6 },
    ]);
    expect(value(await six.read('/local/domain/5/device/state'))).toBe('1');
    expect(failure(await six.write('/local/domain/5/device/state', '2')).code).toBe('EACCES');
    // dom0's new nodes keep the parent's owner.
    value(await dom0.write('/local/domain/5/device/ring-ref', '8'));
    expect(value(await dom0.getPerms('/local/domain/5/device/ring-ref'))[0]).toEqual({ access: 'n', domid: 5 });
    // An owner may change the ACL but not give the node away.
    value(await five.setPerms('device/state', [{ access: 'n', domid: 5 }]));
    expect(failure(await six.read('/local/domain/5/device/state')).code).toBe('EACCES');
    const giveAway = failure(await five.setPerms('device/state', [{ access: 'n', domid: 6 }]));
    expect(giveAway.code).toBe('EPERM');
    expect(giveAway.kind).toBe('permission');
    expect(failure(await six.setPerms('/local/domain/5/device/state', [{ access: 'b', domid: 5 }])).code).toBe('EACCES');
  });
});

describe('watches', () => {
  it('fires once when set, then on changes at or below the path', async () => {
    const xs = connect(0);
    const w = value(await xs.watch('/w'));
    expect(await nextPath(w)).toBe('/w');
    value(await xs.write('/w/a', '1'));
    expect(await nextPath(w)).toBe('/w/a');
    value(await xs.write('/other', '1'));
    value(await xs.setPerms('/w/a', [{ access: 'n', domid: 0 }]));
    expect(await nextPath(w)).toBe('/w/a');
    value(await xs.rm('/w/a'));
    expect(await nextPath(w)).toBe('/w/a');
    await w.close();
    expect(failure(await w.next()).kind).toBe('closed');
  });

  it('reports the watched path when a parent is removed', async () => {
    const xs = connect(0);
    value(await xs.write('/p/q/r', 'x'));
    const w = value(await xs.watch('/p/q/r'));
    expect(await nextPath(w)).toBe('/p/q/r');
    value(await xs.rm('/p'));
    expect(await nextPath(w)).toBe('/p/q/r');
    await w.close();
  });

  it('fires for changes in a transaction only when it commits', async () => {
    const xs = connect(0);
    for (const k of ['a', 'b', 'marker']) value(await xs.write(`/t/${k}`, '0'));
    const w = value(await xs.watch('/t'));
    expect(await nextPath(w)).toBe('/t');
    const seen: string[] = [];
    const r = await xs.transaction(async (tx) => {
      value(await tx.write('/t/a', '1'));
      value(await tx.write('/t/b', '2'));
      // Nothing yet: a write outside the transaction is the next event.
      value(await xs.write('/t/marker', '1'));
      seen.push(await nextPath(w));
      return ok('done');
    });
    expect(value(r)).toBe('done');
    seen.push(await nextPath(w), await nextPath(w));
    expect(seen).toEqual(['/t/marker', '/t/a', '/t/b']);
    // An aborted transaction fires nothing.
    const aborted = await xs.transaction(async (tx) => {
      value(await tx.write('/t/never', '1'));
      return err(new FlowError('invalid', 'changed my mind'));
    });
    expect(failure(aborted).message).toBe('changed my mind');
    value(await xs.write('/t/marker', '2'));
    expect(await nextPath(w)).toBe('/t/marker');
    expect(failure(await xs.read('/t/never')).code).toBe('ENOENT');
    await w.close();
  });

  it('conflicts, as xenstored does, when another writer adds a sibling of a node the transaction creates', async () => {
    const xs = connect(0);
    const other = connect(0);
    value(await xs.mkdir('/sib'));
    let runs = 0;
    value(
      await xs.transaction(async (tx) => {
        runs += 1;
        value(await tx.write('/sib/mine', '1'));
        if (runs === 1) value(await other.write('/sib/theirs', '1'));
        return ok(undefined);
      }),
    );
    expect(runs).toBe(2);
    expect(value(await xs.directory('/sib')).sort()).toEqual(['mine', 'theirs']);
  });

  it('works as an async iterator', async () => {
    const xs = connect(0);
    const w = value(await xs.watch('/it'));
    const got: string[] = [];
    const writer = (async () => {
      for (const k of ['a', 'b', 'c']) value(await xs.write(`/it/${k}`, k));
    })();
    for await (const p of w) {
      got.push(p);
      if (got.length === 4) break; // `break` closes the watch
    }
    await writer;
    expect(got).toEqual(['/it', '/it/a', '/it/b', '/it/c']);
    expect(failure(await w.next()).kind).toBe('closed');
  });

  it('reports relative paths for relative watches of a domain', async () => {
    server.introduceDomain(8);
    const dom0 = connect(0);
    value(await dom0.setPerms('/local/domain/8', [{ access: 'n', domid: 8 }]));
    const guest = connect(8);
    const w = value(await guest.watch('device'));
    expect(await nextPath(w)).toBe('device');
    value(await dom0.write('/local/domain/8/device/vif/0', 'x'));
    expect(await nextPath(w)).toBe('device/vif/0');
    await w.close();
  });

  it('does not tell a domain about nodes it cannot read', async () => {
    const dom0 = connect(0);
    const guest = connect(9);
    value(await dom0.mkdir('/shared'));
    value(
      await dom0.setPerms('/shared', [
        { access: 'n', domid: 0 },
        { access: 'r', domid: 9 },
      ]),
    );
    const w = value(await guest.watch('/shared'));
    expect(await nextPath(w)).toBe('/shared');
    value(await dom0.write('/shared/hidden/deep', 'x')); // parent /shared/hidden inherits r9: visible
    expect(await nextPath(w)).toBe('/shared/hidden/deep');
    value(await dom0.mkdir('/shared/closed'));
    value(await dom0.setPerms('/shared/closed', [{ access: 'n', domid: 0 }]));
    value(await dom0.write('/shared/closed/x/y', 'secret')); // neither it nor its parent readable
    value(await dom0.write('/shared/open', 'x'));
    expect(await nextPath(w)).toBe('/shared/closed'); // the readable parent's change (mkdir)
    expect(await nextPath(w)).toBe('/shared/closed'); // SET_PERMS: it could read it before
    expect(await nextPath(w)).toBe('/shared/open');
    await w.close();
  });

  it('hears @introduceDomain and @releaseDomain, and the domain directory going away', async () => {
    const dom0 = connect(0);
    const intro = value(await dom0.watch('@introduceDomain'));
    const release = value(await dom0.watch('@releaseDomain'));
    expect(await nextPath(intro)).toBe('@introduceDomain');
    expect(await nextPath(release)).toBe('@releaseDomain');
    server.introduceDomain(12);
    expect(await nextPath(intro)).toBe('@introduceDomain');
    expect(value(await dom0.getPerms('/local/domain/12'))).toEqual([
      { access: 'n', domid: 0 },
      { access: 'r', domid: 12 },
    ]);
    value(await dom0.write('/local/domain/12/device/console/1/state', '1'));
    const home = value(await dom0.watch('/local/domain/12/device/console/1/state'));
    expect(await nextPath(home)).toBe('/local/domain/12/device/console/1/state');
    const guest = connect(12);
    server.releaseDomain(12);
    expect(await nextPath(release)).toBe('@releaseDomain');
    expect(await nextPath(home)).toBe('/local/domain/12/device/console/1/state');
    expect(failure(await dom0.read('/local/domain/12')).code).toBe('ENOENT');
    // The released domain's own connection was cut.
    expect(failure(await guest.read('/local')).kind).toBe('closed');
    await Promise.all([intro.close(), release.close(), home.close()]);
  });

  it('does not send special events to unprivileged domains unless permitted', async () => {
    const dom0 = connect(0);
    const guest = connect(3);
    const w = value(await guest.watch('@releaseDomain'));
    expect(await nextPath(w)).toBe('@releaseDomain');
    server.releaseDomain(44);
    value(
      await dom0.setPerms('@releaseDomain', [
        { access: 'n', domid: 0 },
        { access: 'r', domid: 3 },
      ]),
    );
    expect(value(await dom0.getPerms('@releaseDomain'))[1]).toEqual({ access: 'r', domid: 3 });
    server.releaseDomain(45);
    expect(await nextPath(w)).toBe('@releaseDomain');
    expect((w as unknown as { dropped: number }).dropped).toBe(0);
    // Only the permitted release arrived: nothing else is queued.
    const none = await w.next({ signal: AbortSignal.abort() });
    expect(failure(none).kind).toBe('aborted');
    await w.close();
  });

  it('refuses a duplicate watch and UNWATCH of nothing', async () => {
    const xs = connect(0);
    expect(failure(await xs.request({ type: 'UNWATCH', path: '/x', token: 'nope' }, 0)).code).toBe('ENOENT');
    value(await xs.request({ type: 'WATCH', path: '/x', token: 'same' }, 0));
    expect(failure(await xs.request({ type: 'WATCH', path: '/x', token: 'same' }, 0)).code).toBe('EEXIST');
    value(await xs.request({ type: 'UNWATCH', path: '/x', token: 'same' }, 0));
    expect(xs.stats.strayEvents).toBe(1); // the first event of the raw WATCH has no XsWatch
  });
});

describe('transactions', () => {
  it('commits atomically and reads its own writes', async () => {
    const xs = connect(0);
    const r = await xs.transaction(async (tx) => {
      value(await tx.write('/tx/a', '1'));
      const own = value(await tx.read('/tx/a'));
      // Outside the transaction nothing is visible yet.
      expect(failure(await xs.read('/tx/a')).code).toBe('ENOENT');
      return ok(own);
    });
    expect(value(r)).toBe('1');
    expect(value(await xs.read('/tx/a'))).toBe('1');
  });

  it('aborts when fn returns an error, keeping nothing', async () => {
    const xs = connect(0);
    const r = await xs.transaction(async (tx) => {
      value(await tx.write('/tx2/a', '1'));
      return tx.read('/tx2/missing');
    });
    expect(failure(r).code).toBe('ENOENT');
    expect(failure(await xs.read('/tx2/a')).code).toBe('ENOENT');
  });

  it('retries a conflict and then succeeds', async () => {
    const xs = connect(0);
    const other = connect(0);
    value(await xs.write('/ctr', '0'));
    let runs = 0;
    const r = await xs.transaction(async (tx) => {
      runs += 1;
      const n = Number(value(await tx.read('/ctr')));
      if (runs === 1) value(await other.write('/ctr', '10')); // a concurrent writer
      value(await tx.write('/ctr', String(n + 1)));
      return ok(n + 1);
    });
    expect(value(r)).toBe(11);
    expect(runs).toBe(2);
    expect(value(await xs.read('/ctr'))).toBe('11');
  });

  it('gives up with a limit error after maxRetries conflicts', async () => {
    const xs = connect(0);
    const other = connect(0);
    value(await xs.write('/hot', '0'));
    let runs = 0;
    const r = await xs.transaction(
      async (tx) => {
        runs += 1;
        value(await tx.read('/hot'));
        value(await other.write('/hot', String(runs))); // a guest that keeps writing
        return tx.write('/hot/mine', 'x');
      },
      { maxRetries: 3 },
    );
    const e = failure(r);
    expect(e.kind).toBe('limit');
    expect(e.code).toBe('EAGAIN');
    expect((e.cause as FlowError).code).toBe('EAGAIN');
    expect(runs).toBe(4);
    expect(failure(await xs.read('/hot/mine')).code).toBe('ENOENT');
  });

  it('retries injected EAGAIN storms on commit (bounded)', async () => {
    const xs = connect(0);
    server.injectCommitConflicts(2);
    let runs = 0;
    value(
      await xs.transaction(async (tx) => {
        runs += 1;
        return tx.write('/storm', String(runs));
      }),
    );
    expect(runs).toBe(3);
    server.injectCommitConflicts(100);
    expect(failure(await xs.transaction(async (tx) => tx.write('/storm', 'x'), { maxRetries: 0 })).kind).toBe('limit');
    server.injectCommitConflicts(0);
  });

  it('does not conflict on unrelated changes', async () => {
    const xs = connect(0);
    const other = connect(0);
    value(await xs.write('/mine/a', '0'));
    value(await xs.write('/theirs/b', '0'));
    let runs = 0;
    value(
      await xs.transaction(async (tx) => {
        runs += 1;
        value(await tx.read('/mine/a'));
        value(await other.write('/theirs/b', String(runs)));
        return tx.write('/mine/a', '1');
      }),
    );
    expect(runs).toBe(1);
  });

  it('stops at the signal', async () => {
    const xs = connect(0);
    const other = connect(0);
    value(await xs.write('/sig', '0'));
    const ac = new AbortController();
    let runs = 0;
    const r = await xs.transaction(
      async (tx) => {
        runs += 1;
        value(await tx.read('/sig'));
        value(await other.write('/sig', String(runs)));
        if (runs === 2) ac.abort();
        return tx.write('/sig', 'mine');
      },
      { signal: ac.signal, maxRetries: 50 },
    );
    expect(failure(r).kind).toBe('aborted');
    expect(runs).toBe(2);
  });

  it('closes the transaction when fn throws, and rethrows', async () => {
    const xs = connect(0);
    let handle: XsOps | undefined;
    await expect(
      xs.transaction(async (tx) => {
        handle = tx;
        throw new Error('bug');
      }),
    ).rejects.toThrow('bug');
    expect(server.stats.transactions).toBe(0);
    expect(failure(await handle!.read('/local')).kind).toBe('closed');
  });
});

describe('wait (OXS style)', () => {
  it('re-runs until the function returns a value, watching what it read', async () => {
    const xs = connect(0);
    const writer = connect(0);
    let runs = 0;
    const waiting = xs.wait(async (h) => {
      runs += 1;
      const state = await h.read('/fe/state');
      if (!state.ok) return state.error.code === 'ENOENT' ? ok(RETRY) : state;
      return Number(state.value) >= 3 ? ok(Number(state.value)) : ok(RETRY);
    });
    await until(() => server.stats.watches === 1, 'the wait to watch /fe/state');
    value(await writer.write('/fe/state', '1'));
    value(await writer.write('/fe/state', '2'));
    value(await writer.write('/fe/state', '4'));
    expect(value(await waiting)).toBe(4);
    expect(runs).toBeGreaterThanOrEqual(2);
    await until(() => server.stats.watches === 0, 'the wait to remove its watch');
  });

  it('returns at once when the value is already there', async () => {
    const xs = connect(0);
    value(await xs.write('/ready', 'yes'));
    expect(value(await xs.wait(async (h) => h.read('/ready')))).toBe('yes');
    expect(server.stats.watches).toBe(0);
  });

  it('returns the function error', async () => {
    const xs = connect(5);
    const e = failure(await xs.wait(async (h) => h.read('/local/domain/0')));
    expect(e.code).toBe('EACCES');
  });

  it('times out, aborts, and cleans up its watches', async () => {
    const xs = connect(0);
    const never = async (h: XsOps): Promise<Result<typeof RETRY, FlowError>> => {
      await h.read('/never');
      return ok(RETRY);
    };
    expect(failure(await xs.wait(never, { timeoutMs: 20 })).kind).toBe('timeout');
    const ac = new AbortController();
    const waiting = xs.wait(never, { signal: ac.signal });
    await until(() => server.stats.watches === 1, 'the wait to watch');
    ac.abort();
    expect(failure(await waiting).kind).toBe('aborted');
    await until(() => server.stats.watches === 0, 'the watches to go');
  });

  it('bounds the number of watched paths', async () => {
    const xs = connect(0);
    const e = failure(
      await xs.wait(
        async (h) => {
          for (let i = 0; i < 5; i++) await h.read(`/many/${i}`);
          return ok(RETRY);
        },
        { maxWatches: 3 },
      ),
    );
    expect(e.kind).toBe('limit');
  });

  it('ends when the connection ends', async () => {
    server.introduceDomain(20);
    const xs = connect(20);
    const waiting = xs.wait(async (h) => {
      await h.read('/local/domain/20/x');
      return ok(RETRY);
    });
    await until(() => server.stats.watches === 1, 'the wait to watch');
    server.releaseDomain(20);
    // The server cut the domain's connection: the wait ends with why.
    expect(['closed', 'reset']).toContain(failure(await waiting).kind);
  });
});
