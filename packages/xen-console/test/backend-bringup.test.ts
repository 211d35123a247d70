// The dom0 side of spec §3, checked step by step against the simulated xenstored's record of
// committed operations and the hypervisor's state at each commit; `create` in ONE transaction
// with its permissions (and the §4 permission race, which the non-transactional order
// reproduces); bounded retries on conflicts; destroy.
import { EOF } from '@flow/core';
import { createConsole, destroyConsole, consoleNodes } from '../src';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import type { CommittedOp } from '../src/sim/xenstored';
import type { SimXen } from '../src/sim/sim-xen';
import { ScriptedGuest } from './support/backend-guest';
import { connectBackend, create, dom0Holds, dom0Xs, failure, GUEST, must, node, readUpTo, startSim, turns, until } from './support/backend-harness';

const FRONT = `/local/domain/${GUEST}/device/console/1`;
const BACK = `/local/domain/0/backend/console/${GUEST}/1`;

let sim: SimXen;
beforeEach(async () => {
  sim = await startSim();
});
afterEach(async () => {
  sim.xenstored.injectCommitConflicts(0);
  await sim.close();
});

interface Step {
  readonly txId: number;
  readonly ops: readonly CommittedOp[];
  readonly mappings: number;
  readonly dom0Ports: number;
}

function summary(op: CommittedOp): string {
  const what = op.type === 'WRITE' ? `=${op.value?.toString() ?? ''}` : op.type === 'SET_PERMS' ? ` ${(op.perms ?? []).map((p) => `${p.access}${p.domid}`).join(',')}` : '';
  return `dom${op.domid} ${op.type} ${op.path}${what}`;
}

test('§3: create in one transaction, guest Initialised, then map and bind, then backend Connected: in this order, nothing else in between', async () => {
  sim.xenstored.clearRecord();
  const steps: Step[] = [];
  let connectionByteAtConnected: number | undefined;
  // The guest (as Linux's xencons_connect_backend) on a Xen >= 4.21 page marked disconnected;
  // it grants and allocates now, and writes nothing until the console exists.
  const guest = await ScriptedGuest.start(sim, GUEST, { connection: 1 });
  sim.xenstored.onCommit((e) => {
    steps.push({ txId: e.txId, ops: e.ops, mappings: sim.hypervisor.grants.openMappings(0), dom0Ports: sim.hypervisor.events.openPorts(0) });
    if (e.ops.some((op) => op.path === `${BACK}/state` && op.value?.toString() === '4')) {
      const b = new Uint8Array(1);
      guest.page.readBytes(CONSOLE_LAYOUT.CONNECTION, 1, b, 0);
      connectionByteAtConnected = b[0];
    }
  });

  // 1-3: TRANSACTION_START, the writes and SET_PERMS, TRANSACTION_END.
  await create(sim, { name: 'hvc1' });
  const { probe, result } = connectBackend(sim);
  await turns();
  expect(steps).toHaveLength(1); // the backend only reads and watches while it waits (step 4)
  await guest.publish();
  await guest.setState(3);
  const back = must(await result, 'connect');
  await until(() => node(sim, `${BACK}/state`) === '4', 'backend Connected');
  await guest.setState(4);

  const lines = steps.flatMap((s) => s.ops.map(summary));
  const expectedCreate = consoleNodes({ domid: GUEST, devid: 1, name: 'hvc1' });
  // Step 1-3: one commit, inside a transaction, made by dom0, holding every node and its perms.
  const [created, published, initialised, connected, guestConnected, ...rest] = steps;
  expect(rest.map((s) => s.ops.map(summary))).toEqual([]);
  expect(created?.txId).not.toBe(0);
  expect(created?.ops.every((op) => op.domid === 0 && op.txId === created.txId)).toBe(true);
  for (const n of [...expectedCreate.dirs, ...expectedCreate.keys]) {
    const ops = created?.ops.filter((op) => op.path === n.path) ?? [];
    const perms = ops.find((op) => op.type === 'SET_PERMS')?.perms;
    expect({ path: n.path, perms }).toEqual({ path: n.path, perms: n.perms });
    if (n.value !== '') expect(ops.find((op) => op.type === 'WRITE')?.value?.toString()).toBe(n.value);
  }
  const written = Object.fromEntries(created?.ops.filter((op) => op.type === 'WRITE').map((op) => [op.path, op.value?.toString()]) ?? []);
  expect(written).toMatchObject({
    [`${BACK}/frontend`]: FRONT,
    [`${BACK}/frontend-id`]: '5',
    [`${BACK}/online`]: '1',
    [`${BACK}/state`]: '1',
    [`${BACK}/protocol`]: 'vt100',
    [`${FRONT}/backend`]: BACK,
    [`${FRONT}/backend-id`]: '0',
    [`${FRONT}/state`]: '1',
    [`${FRONT}/protocol`]: 'vt100',
    [`${FRONT}/limit`]: '1048576',
    [`${FRONT}/type`]: 'flow',
    [`${FRONT}/output`]: 'pty',
    [`${FRONT}/name`]: 'hvc1',
  });
  // Every node's permissions are set in the same commit as its write (never a moment without).
  for (const op of created?.ops ?? []) if (op.type === 'WRITE' || op.type === 'MKDIR') expect(created?.ops.some((o) => o.type === 'SET_PERMS' && o.path === op.path)).toBe(true);

  // The guest: ring-ref and port in its own transaction, then Initialised; dom0 has mapped nothing yet.
  expect(published?.ops.map(summary)).toEqual([`dom5 WRITE ${FRONT}/ring-ref=8`, `dom5 WRITE ${FRONT}/port=${guest.port.local}`]);
  expect(published?.txId).not.toBe(0);
  expect(initialised?.ops.map(summary)).toEqual([`dom5 WRITE ${FRONT}/state=3`]);
  expect([published?.mappings, initialised?.mappings, initialised?.dom0Ports]).toEqual([0, 0, 0]);

  // Steps 5-7: map (domid 5, ref 8, writable), bind (5, port), connection byte 0, then state 4.
  expect(connected?.ops.map(summary)).toEqual([`dom0 WRITE ${BACK}/state=4`]);
  expect([connected?.mappings, connected?.dom0Ports]).toEqual([1, 1]);
  expect(probe.maps).toEqual([{ domid: GUEST, ref: guest.ref, writable: true }]);
  expect(probe.binds).toEqual([{ domid: GUEST, port: guest.port.local }]);
  expect(sim.hypervisor.events.status(0, probe.ports[0]?.local ?? -1)).toEqual({ state: 'interdomain', remoteDomid: GUEST, remotePort: guest.port.local });
  expect(connectionByteAtConnected).toBe(0);
  expect(guestConnected?.ops.map(summary)).toEqual([`dom5 WRITE ${FRONT}/state=4`]);
  expect(lines).toHaveLength((created?.ops.length ?? 0) + 5);

  // Steps 8-9: the loop. The guest's greeting, then dom0's input; a notify after every publish
  // and after every consume (there is no event index).
  guest.produce(Buffer.from('HELLO-ON-HVC1 3\r\n'));
  guest.notify();
  const hello = await readUpTo(back, 17);
  expect(hello.data.toString()).toBe('HELLO-ON-HVC1 3\r\n');
  await until(() => guest.events === 1, 'a notify for the consumed output');
  expect(guest.indices().outCons).toBe(17);
  expect((await back.write(Buffer.from('PING-FROM-DOM0\r\n'))).ok).toBe(true);
  await until(() => guest.events === 2, 'a notify for the published input');
  expect(Buffer.from(guest.consume()).toString()).toBe('PING-FROM-DOM0\r\n');
  expect(back.consoleStats).toMatchObject({ notifies: 2, corruptRings: 0 });

  // close(): unmap, unbind, backend Closed.
  expect((await back.close()).ok).toBe(true);
  await until(() => node(sim, `${BACK}/state`) === '6', 'backend Closed');
  expect(steps.at(-1)?.ops.map(summary)).toEqual([`dom0 WRITE ${BACK}/state=6`]);
  expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  await guest.close();
  expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
});

/**
 * The check the simulator makes possible (spec §11.1 item 9): after every commit, if the guest
 * can read its console directory it must be able to write `state`, `ring-ref` and `port`; a
 * Linux frontend that sees the directory first and cannot write fails for good (EACCES).
 */
function watchForRace(sim: SimXen): { violations: string[]; commits: () => number } {
  const violations: string[] = [];
  let commits = 0;
  sim.xenstored.onCommit((e) => {
    commits += 1;
    if (!e.view.exists(FRONT) || !e.view.canRead(GUEST, FRONT)) return;
    for (const key of ['state', 'ring-ref', 'port']) {
      if (!e.view.canWrite(GUEST, `${FRONT}/${key}`)) violations.push(`after ${e.ops.map(summary).join('; ')}: the guest sees ${FRONT} but cannot write ${key}`);
    }
  });
  return { violations, commits: () => commits };
}

test('§4 permission race: create never leaves a moment where the guest sees its nodes and cannot write them', async () => {
  const race = watchForRace(sim);
  // A guest that looks (and tries to switch state) at every step, as Linux's xenbus does.
  const guestXs = must(sim.xenstored.connect(GUEST));
  const refused: string[] = [];
  const stop = sim.xenstored.onCommit((e) => {
    if (e.ops.some((op) => op.domid !== 0)) return; // its own writes
    void guestXs.read(`${FRONT}/backend-id`).then(async (seen) => {
      if (!seen.ok) return;
      const w = await guestXs.write(`${FRONT}/state`, '1');
      if (!w.ok) refused.push(w.error.code ?? w.error.kind);
    });
  });
  await create(sim);
  await turns(50);
  stop();
  expect(race.commits()).toBe(2); // the create, then the guest's state write
  expect(race.violations).toEqual([]);
  expect(refused).toEqual([]);
  expect(node(sim, `${FRONT}/state`)).toBe('1');
  // Re-creating over an existing console is one commit as well (rm, then everything again).
  await create(sim);
  expect(race.commits()).toBe(3);
  expect(race.violations).toEqual([]);
  await guestXs.close();
});

test('§4 reproduced: the non-transactional order (write, then chmod) shows the guest a node it cannot write, and its write fails with EACCES', async () => {
  const race = watchForRace(sim);
  const xs = dom0Xs(sim);
  const guestXs = must(sim.xenstored.connect(GUEST));
  const nodes = consoleNodes({ domid: GUEST, devid: 1 });
  // What a careless toolstack does: every value first...
  for (const k of nodes.keys) must(await xs.write(k.path, k.value));
  // ...and a Linux frontend that initialises in between cannot write its state:
  const early = await guestXs.write(`${FRONT}/state`, '3');
  expect(failure(early)).toMatchObject({ kind: 'permission', code: 'EACCES' });
  // ...then the permissions.
  for (const n of [...nodes.dirs, ...nodes.keys]) must(await xs.setPerms(n.path, n.perms));
  expect(race.violations.length).toBeGreaterThan(0);
  expect(race.violations[0]).toContain('cannot write state');
  // Once the perms are right the write works: the failure was the window, not the guest.
  expect((await guestXs.write(`${FRONT}/state`, '3')).ok).toBe(true);
  await xs.close();
  await guestXs.close();
});

test('transaction conflicts on create: retried a bounded number of times, then a typed error, nothing committed or left open', async () => {
  const xs = dom0Xs(sim);
  sim.xenstored.clearRecord();
  sim.xenstored.injectCommitConflicts(1_000_000);
  const e = failure(await createConsole(xs, { domid: GUEST, devid: 1, maxRetries: 3 }));
  expect(e).toMatchObject({ kind: 'limit', code: 'EAGAIN' });
  expect(e.message).toContain('creating the console of domain 5 (device 1) failed');
  expect(sim.xenstored.committed).toEqual([]);
  expect(sim.xenstored.stats.transactions).toBe(0);
  expect(node(sim, FRONT)).toBeUndefined();

  // A few conflicts (a guest writing meanwhile): retried, then one commit with everything.
  sim.xenstored.injectCommitConflicts(3);
  must(await createConsole(xs, { domid: GUEST, devid: 1 }));
  const txIds = new Set(sim.xenstored.committed.map((op) => op.txId));
  expect(txIds.size).toBe(1);
  expect([...txIds][0]).not.toBe(0);
  expect(node(sim, `${FRONT}/backend-id`)).toBe('0');
  expect(sim.xenstored.stats.transactions).toBe(0);
  await xs.close();
});

test('create starts clean: stale keys of an earlier console do not survive', async () => {
  await create(sim);
  const xs = dom0Xs(sim);
  must(await xs.write(`${FRONT}/ring-ref`, '77'));
  must(await xs.write(`${BACK}/stale`, 'x'));
  await create(sim);
  expect(node(sim, `${FRONT}/ring-ref`)).toBeUndefined();
  expect(node(sim, `${BACK}/stale`)).toBeUndefined();
  expect(node(sim, `${FRONT}/state`)).toBe('1');
  await xs.close();
});

test('destroy removes both directories in one commit; the connected backend sees its guest gone (EOF) and lets go of the page at once', async () => {
  await create(sim);
  const guest = await ScriptedGuest.start(sim, GUEST);
  const { result } = connectBackend(sim);
  await guest.initialise();
  const back = must(await result);
  guest.produce(Buffer.from('last words'));
  guest.notify();
  expect((await readUpTo(back, 10)).data.toString()).toBe('last words');

  const xs = dom0Xs(sim);
  sim.xenstored.clearRecord();
  must(await destroyConsole(xs, { domid: GUEST, devid: 1 }));
  expect(new Set(sim.xenstored.committed.map((op) => op.txId)).size).toBe(1);
  expect(sim.xenstored.committed.map((op) => `${op.type} ${op.path}`)).toEqual([`RM ${FRONT}`, `RM ${BACK}`]);
  expect(node(sim, FRONT)).toBeUndefined();
  expect(node(sim, BACK)).toBeUndefined();

  const r = await back.read();
  expect(r.ok && r.value === EOF).toBe(true);
  await until(() => dom0Holds(sim).mappings === 0 && dom0Holds(sim).dom0Ports === 0, 'the page unmapped and the port unbound without close()');
  expect(back.state).toBe('open');
  await back.close();
  await turns(20);
  // The backend's state changes (Closed) did not bring the removed directory back as a stray node.
  expect(node(sim, BACK)).toBeUndefined();
  expect(sim.xenstored.tree.paths('/local/domain/0')).not.toContain(`${BACK}/state`);
  // Destroying what is not there is not an error.
  must(await destroyConsole(xs, { domid: GUEST, devid: 1 }));
  await xs.close();
  await guest.close();
});

test('an MCON-like frontend that jumps straight to Connected is served; QEMU-like teardown: frontend Closing -> backend Closing, frontend Closed -> backend Closed', async () => {
  await create(sim);
  const guest = await ScriptedGuest.start(sim, GUEST);
  const { probe, result } = connectBackend(sim);
  await guest.publish();
  await guest.setState(4);
  const back = must(await result);
  expect(probe.maps).toHaveLength(1);
  await until(() => node(sim, `${BACK}/state`) === '4', 'backend Connected');
  guest.produce(Buffer.from('mirage'));
  await guest.setState(5);
  const got = await readUpTo(back, Number.POSITIVE_INFINITY);
  expect(got).toEqual({ data: Buffer.from('mirage'), end: 'eof' });
  await until(() => node(sim, `${BACK}/state`) === '5', 'backend Closing');
  await guest.setState(6);
  await until(() => node(sim, `${BACK}/state`) === '6', 'backend Closed');
  expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  await back.close();
  await guest.close();
  expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
});
