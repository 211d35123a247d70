// A jest setup file: outside user-mode Linux, no test may connect() an AF_VSOCK socket. The
// machine running the tests may itself be a VM guest, where any vsock connect (whatever the CID)
// leaves the machine and reaches its real hypervisor host. Inside UML, whose init sets
// HVSOCK_TEST_IN_UML=1, connections to CID 1 stay in that kernel, so they are allowed there.
//
// The guard replaces `connect` on the addon's exports object itself. Node keeps one such object
// per process, shared by every loader (src/ under ts-jest, dist/, node-gyp-build), and the
// loaders copy it only after this file ran, so every path to connect() is guarded.
import { createRequire } from 'node:module';
import { locateVsockAddon } from '../../src/native/locate';

/** Marks a guarded addon (and its refusing connect), so that the guard is installed once per process. */
export const CONNECT_GUARD = Symbol.for('@flow/hvsock/test/connect-guard');

export const CONNECT_REFUSAL =
  'AF_VSOCK connect() refused by the test harness: this machine may itself be a VM guest, where a vsock ' +
  'connect reaches the real hypervisor host whatever the CID. Connect only in the user-mode Linux tests ' +
  '(test/uml/), which run with HVSOCK_TEST_IN_UML=1.';

function refuseVsockConnect(): never {
  throw new Error(CONNECT_REFUSAL);
}
Object.defineProperty(refuseVsockConnect, CONNECT_GUARD, { value: true });

/** True when `connect` is the guard's refusal (check this before calling connect in a test). */
export function isGuardedConnect(connect: unknown): boolean {
  return typeof connect === 'function' && (connect as unknown as Record<symbol, unknown>)[CONNECT_GUARD] === true;
}

function guardAddon(): void {
  const located = locateVsockAddon();
  if (!located.ok) return; // no addon here: nothing can connect
  let addon: Record<string | symbol, unknown>;
  try {
    addon = createRequire(__filename)(located.value.path) as Record<string | symbol, unknown>;
  } catch {
    return; // it does not load here: nothing can connect either
  }
  if (addon[CONNECT_GUARD] === true) return;
  addon.connect = refuseVsockConnect;
  addon[CONNECT_GUARD] = true;
}

if (process.env.HVSOCK_TEST_IN_UML !== '1') guardAddon();
