import { writeFileSync } from 'node:fs';
import { SimXenstored } from '../src/sim/xenstored/server';
import { connectXenstore, openXenbusDevice, xenstoreOverDuplex, xenstoredSocketPath } from '../src/xenstore';
import { failure, tempDir, until, value } from './support/xenstore-support';

describe('finding xenstored as libxenstore does', () => {
  it('uses XENSTORED_PATH, else XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket', () => {
    expect(xenstoredSocketPath({ XENSTORED_PATH: '/x/sock', XENSTORED_RUNDIR: '/r' })).toBe('/x/sock');
    expect(xenstoredSocketPath({ XENSTORED_RUNDIR: '/r' })).toBe('/r/socket');
    expect(xenstoredSocketPath({})).toBe('/var/run/xenstored/socket');
    expect(xenstoredSocketPath({ XENSTORED_PATH: '' })).toBe('/var/run/xenstored/socket');
  });
});

describe('connectXenstore', () => {
  let server: SimXenstored;
  let tmp: { dir: string; remove(): void };

  beforeEach(() => {
    server = new SimXenstored();
    tmp = tempDir();
  });

  afterEach(async () => {
    await server.close();
    tmp.remove();
  });

  it('connects to the socket named by the environment, as dom0', async () => {
    const path = `${tmp.dir}/socket`;
    const listener = value(await server.listen(path));
    const xs = value(await connectXenstore({ env: { XENSTORED_RUNDIR: tmp.dir } }));
    value(await xs.write('/over/socket', 'yes'));
    expect(server.tree.readString('/over/socket')).toBe('yes');
    expect(server.committed.at(-1)).toMatchObject({ domid: 0, type: 'WRITE' });
    // A socket connection has no domain directory: relative paths are refused (by the client).
    expect(failure(await xs.read('relative')).kind).toBe('invalid');
    await xs.close();
    await until(() => server.stats.connections === 0, 'the server to see the client go');
    await listener.close();
  });

  it('is refused relative paths by the server on a socket', async () => {
    const path = `${tmp.dir}/socket`;
    const listener = value(await server.listen(path));
    const xs = value(await connectXenstore({ path, allowRelativePaths: true }));
    expect(failure(await xs.read('relative')).code).toBe('EINVAL');
    await xs.close();
    await listener.close();
  });

  it('says not-found when there is no xenstore', async () => {
    const e = failure(await connectXenstore({ env: { XENSTORED_PATH: `${tmp.dir}/nothing` } }));
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/nothing/);
    expect(failure(await connectXenstore({ path: `${tmp.dir}/nothing` })).kind).toBe('not-found');
  });

  it('opens a path that is not a socket as the xenbus device (a plain file is not one)', async () => {
    writeFileSync(`${tmp.dir}/xenbus`, '');
    const e = failure(await connectXenstore({ path: `${tmp.dir}/xenbus` }));
    expect(e).toMatchObject({ kind: 'unsupported', code: 'ENODEV' });
    expect(e.message).toMatch(/not a xenbus device/);
    // No Xen here.
    expect(failure(await openXenbusDevice('/dev/xen/xenbus'))).toMatchObject({ kind: 'not-found', code: 'ENOENT' });
  });

  it('says refused when nobody listens on the socket', async () => {
    const path = `${tmp.dir}/socket`;
    const listener = value(await server.listen(path));
    // Keep the socket file but stop the server behind it (as a crashed xenstored leaves it).
    const { renameSync } = await import('node:fs');
    renameSync(path, `${path}.kept`);
    await listener.close();
    renameSync(`${path}.kept`, path);
    const e = failure(await connectXenstore({ path }));
    expect(e.kind).toBe('refused');
  });

  it('runs over any Node Duplex', async () => {
    const duplex = value(server.connectDuplex(0));
    const xs = xenstoreOverDuplex(duplex, { allowRelativePaths: true });
    value(await xs.write('data/x', '1'));
    expect(server.tree.readString('/local/domain/0/data/x')).toBe('1');
    await xs.close();
    await until(() => server.stats.connections === 0, 'the server to see the client go');
  });
});
