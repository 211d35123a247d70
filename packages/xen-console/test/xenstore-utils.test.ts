import { SimXenstored } from '../src/sim/xenstored/server';
import type { SimXenstoredListener } from '../src/sim/xenstored/socket-listener';
import { connectXenstore, type XenstoreClient } from '../src/xenstore';
import { INSTALL_HINT, missingTools, runTool, startTool } from './support/xenstore-tools';
import { failure, tempDir, until, value } from './support/xenstore-support';

// T2 interop: real Xen client code (libxenstore 4.17 in Debian's xenstore-utils) drives the
// simulated xenstored over a Unix socket named by XENSTORED_PATH, and our client checks what the
// tools did (and the other way round). These tests fail, not skip, when the tools are missing.

function requireTools(): void {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(`xenstore-utils is not installed (missing ${missing.join(', ')}); install it with: ${INSTALL_HINT}`);
  }
}

let server: SimXenstored;
let listener: SimXenstoredListener;
let socket: string;
let xs: XenstoreClient;
let tmp: { dir: string; remove(): void };

beforeEach(async () => {
  tmp = tempDir('xs-utils-');
  socket = `${tmp.dir}/socket`;
  server = new SimXenstored();
  listener = value(await server.listen(socket));
  xs = value(await connectXenstore({ path: socket }));
});

afterEach(async () => {
  await xs.close();
  await until(() => server.stats.connections === 0, 'every tool and client to disconnect');
  expect(server.stats).toMatchObject({ watches: 0, transactions: 0 });
  await listener.close();
  await server.close();
  tmp.remove();
});

const tool = (name: string, ...args: string[]): ReturnType<typeof runTool> => runTool(socket, name, args);

describe('xenstore-utils (libxenstore 4.17) against the simulated xenstored', () => {
  it('is installed', () => {
    requireTools();
  });

  it('xenstore-write is a bare WRITE; our client reads what it wrote', async () => {
    requireTools();
    server.clearRecord();
    const w = await tool('xenstore-write', '/local/domain/1/device/console/1/state', '1');
    expect(w).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(value(await xs.read('/local/domain/1/device/console/1/state'))).toBe('1');
    expect(server.committed.map((o) => [o.type, o.path, o.value?.toString(), o.txId])).toEqual([
      ['WRITE', '/local/domain/1/device/console/1/state', '1', 0],
    ]);
    // dom0 keeps the parent's owner: everything under / is (n0).
    expect(value(await xs.getPerms('/local/domain/1/device/console/1/state'))).toEqual([{ access: 'n', domid: 0 }]);
  });

  it('several pairs to xenstore-write go in one transaction', async () => {
    requireTools();
    server.clearRecord();
    expect((await tool('xenstore-write', '/multi/a', '1', '/multi/b', '2')).code).toBe(0);
    const txIds = new Set(server.committed.map((o) => o.txId));
    expect(txIds.size).toBe(1);
    expect([...txIds][0]).toBeGreaterThan(0);
    expect(value(await xs.directory('/multi')).sort()).toEqual(['a', 'b']);
  });

  it('xenstore-read prints what our client wrote, and fails on a missing node', async () => {
    requireTools();
    value(await xs.write('/vm/name', 'guest-1'));
    value(await xs.write('/vm/uuid', '00000000-0000-0000-0000-000000000001'));
    expect(await tool('xenstore-read', '/vm/name')).toEqual({ code: 0, stdout: 'guest-1\n', stderr: '' });
    expect((await tool('xenstore-read', '-p', '/vm/name', '/vm/uuid')).stdout).toBe('/vm/name: guest-1\n/vm/uuid: 00000000-0000-0000-0000-000000000001\n');
    const missing = await tool('xenstore-read', '/vm/nothing');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/couldn't read path \/vm\/nothing/);
  });

  it('xenstore-ls and xenstore-list show the tree our client made', async () => {
    requireTools();
    value(await xs.write('/local/domain/1/name', 'guest'));
    value(await xs.write('/local/domain/1/device/console/1/state', '4'));
    value(
      await xs.setPerms('/local/domain/1/device', [
        { access: 'n', domid: 0 },
        { access: 'r', domid: 1 },
      ]),
    );
    const ls = await tool('xenstore-ls', '/local/domain/1');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toBe(['name = "guest"', 'device = ""', ' console = ""', '  1 = ""', '   state = "4"', ''].join('\n'));
    const perms = await tool('xenstore-ls', '-p', '/local/domain/1');
    expect(perms.stdout).toMatch(/^device = "" +\. .*\(n0,r1\)$/m);
    const list = await tool('xenstore-list', '/local/domain/1');
    expect(list.stdout.split('\n').filter((l) => l !== '').sort()).toEqual(['device', 'name']);
  });

  it('xenstore-chmod sets permissions in a transaction; our client sees them', async () => {
    requireTools();
    value(await xs.write('/local/domain/1/device/console/1/state', '1'));
    server.clearRecord();
    expect((await tool('xenstore-chmod', '/local/domain/1/device/console/1', 'n1', 'r0')).code).toBe(0);
    expect(value(await xs.getPerms('/local/domain/1/device/console/1'))).toEqual([
      { access: 'n', domid: 1 },
      { access: 'r', domid: 0 },
    ]);
    const [op] = server.committed;
    expect(op).toMatchObject({ type: 'SET_PERMS', path: '/local/domain/1/device/console/1', domid: 0 });
    expect(op.txId).toBeGreaterThan(0);
    // Recursive chmod reaches the children too.
    expect((await tool('xenstore-chmod', '-r', '/local/domain/1/device', 'b1')).code).toBe(0);
    expect(value(await xs.getPerms('/local/domain/1/device/console/1/state'))).toEqual([{ access: 'b', domid: 1 }]);
  });

  it('xenstore-exists answers by exit code', async () => {
    requireTools();
    value(await xs.write('/here', ''));
    expect((await tool('xenstore-exists', '/here')).code).toBe(0);
    expect((await tool('xenstore-exists', '/nope')).code).toBe(1);
  });

  it('xenstore-rm removes a subtree our client made; our client watch sees it', async () => {
    requireTools();
    value(await xs.write('/gone/a/b', 'x'));
    const w = value(await xs.watch('/gone/a/b'));
    expect(value(await w.next())).toBe('/gone/a/b');
    expect((await tool('xenstore-rm', '/gone')).code).toBe(0);
    expect(value(await w.next())).toBe('/gone/a/b'); // a parent's removal reports the watched path
    expect(failure(await xs.read('/gone')).code).toBe('ENOENT');
    await w.close();
  });

  it('our client watch sees what xenstore-write changes', async () => {
    requireTools();
    const w = value(await xs.watch('/local/domain/3'));
    expect(value(await w.next())).toBe('/local/domain/3');
    expect((await tool('xenstore-write', '/local/domain/3/device/vif/0/state', '2')).code).toBe(0);
    expect(value(await w.next())).toBe('/local/domain/3/device/vif/0/state');
    await w.close();
  });

  it('xenstore-watch -n 2 prints the initial event and our write', async () => {
    requireTools();
    const path = '/local/domain/1/device/console/1';
    value(await xs.mkdir(path));
    const before = server.stats.watches;
    const watcher = startTool(socket, 'xenstore-watch', ['-n', '2', path]);
    await until(() => server.stats.watches > before, 'xenstore-watch to set its watch');
    value(await xs.write(`${path}/state`, '3'));
    const result = await watcher.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${path}\n${path}/state\n`);
  });

  it('xenstore-watch hears the removal of a parent as its own path', async () => {
    requireTools();
    const path = '/local/domain/2/device/console/1/state';
    value(await xs.write(path, '1'));
    const before = server.stats.watches;
    const watcher = startTool(socket, 'xenstore-watch', ['-n', '2', path]);
    await until(() => server.stats.watches > before, 'xenstore-watch to set its watch');
    value(await xs.rm('/local/domain/2'));
    const result = await watcher.done;
    expect(result.stdout).toBe(`${path}\n${path}\n`);
  });

  it('sees nothing of a transaction our client aborts, and everything it commits', async () => {
    requireTools();
    const aborted = await xs.transaction(async (tx) => {
      value(await tx.write('/txn/a', '1'));
      // Seen from another connection (the tool) the node does not exist yet.
      expect((await tool('xenstore-exists', '/txn/a')).code).toBe(1);
      return { ok: false as const, error: failure(await tx.read('/txn/none')) };
    });
    expect(failure(aborted).code).toBe('ENOENT');
    expect((await tool('xenstore-exists', '/txn/a')).code).toBe(1);
    value(await xs.transaction(async (tx) => tx.write('/txn/b', '2')));
    expect((await tool('xenstore-read', '/txn/b')).stdout).toBe('2\n');
  });
});
