// The harness guard (test/support/connect-guard.ts, a jest setup file) refuses every AF_VSOCK
// connect() outside user-mode Linux: this machine may be a VM guest whose vsock connects reach
// its real host (spec §4). The tests check that the guard is in place before they call connect,
// so that a broken guard fails them without connecting.
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import type { VsockBinding } from '../src/native/binding';
import { loadVsockBinding } from '../src/native/load';
import { locateVsockAddon, packageRoot } from '../src/native/locate';
import { CONNECT_REFUSAL, isGuardedConnect } from './support/connect-guard';

const { ENOTCONN } = osConstants.errno;

function vsock(): VsockBinding {
  const loaded = loadVsockBinding();
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

test('this run is outside user-mode Linux, so the guard is on', () => {
  expect(process.env.HVSOCK_TEST_IN_UML).not.toBe('1');
});

test('connect() on a fresh AF_VSOCK socket throws the safety rule, and the socket stays unconnected', () => {
  const b = vsock();
  if (!isGuardedConnect(b.connect)) throw new Error('the connect guard is not installed: not calling connect()');
  const fd = b.socket();
  expect(fd).toBeGreaterThanOrEqual(0);
  try {
    expect(() => b.connect(fd, b.constants.VMADDR_CID_HOST, 1024, 0)).toThrow(CONNECT_REFUSAL);
    expect(b.remoteAddress(fd)).toBe(-ENOTCONN);
    expect(b.socketError(fd)).toBe(0);
  } finally {
    expect(b.close(fd)).toBe(0);
  }
});

test('every other way to the addon gets the guarded connect too (node-gyp-build, a plain require of the file)', () => {
  const located = locateVsockAddon();
  if (!located.ok) throw located.error;
  const load = createRequire(__filename);
  const viaNodeGypBuild = (load('node-gyp-build') as (dir: string) => Record<string, unknown>)(packageRoot);
  const viaRequire = load(located.value.path) as Record<string, unknown>;
  expect(isGuardedConnect(viaNodeGypBuild.connect)).toBe(true);
  expect(isGuardedConnect(viaRequire.connect)).toBe(true);
});

test('the guard takes only connect: the rest of the binding works', () => {
  const b = vsock();
  const fd = b.socket();
  try {
    expect(b.bind(fd, b.constants.VMADDR_CID_ANY, b.constants.VMADDR_PORT_ANY, 0)).toBe(0);
    expect(b.listen(fd, 1)).toBe(0);
  } finally {
    b.close(fd);
  }
});
