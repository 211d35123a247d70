import { createRequire } from 'node:module';
import { err, ok, type FlowError, type Result } from '@flow/core';
import { unsupportedError } from '../errors';
import type { VsockBinding } from './binding';
import { locateVsockAddon, type AddonLocation } from './locate';

/** Every function the addon must export (src/native/binding.ts). */
const FUNCTIONS = [
  'socket', 'bind', 'listen', 'accept', 'connect', 'socketError', 'localAddress', 'remoteAddress', 'read',
  'writev', 'shutdown', 'close', 'localCid', 'setBufferSize', 'bufferSize', 'setConnectTimeout', 'pollOpen',
  'pollWatch', 'pollClose',
] as const satisfies readonly (keyof VsockBinding)[];

let loaded: Result<VsockBinding, FlowError> | undefined;
let location: AddonLocation | undefined;

/**
 * The AF_VSOCK addon, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why: not Linux, no prebuilt binary and
 * no source build, or a binary that does not load here.
 */
export function loadVsockBinding(): Result<VsockBinding, FlowError> {
  if (loaded === undefined) {
    const located = locateVsockAddon();
    if (!located.ok) {
      loaded = located;
    } else {
      loaded = loadBindingAt(located.value);
      if (loaded.ok) location = located.value;
    }
  }
  return loaded;
}

/** Where the addon was loaded from (prebuilt or built here); undefined until a load succeeded. */
export function vsockBindingLocation(): AddonLocation | undefined {
  return location;
}

/** Loads and checks the addon file at `location` (uncached: `loadVsockBinding` is the entry point). */
export function loadBindingAt({ path }: AddonLocation): Result<VsockBinding, FlowError> {
  let exported: unknown;
  try {
    // Node's own require: one copy of the addon per process, whoever asks for it.
    exported = createRequire(__filename)(path);
  } catch (cause) {
    // Duck-typed: the error comes from Node's loader, maybe from another realm (a test runner's).
    const message = (cause as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' ? message : String(cause);
    return err(unsupportedError(`the native part of @flow/hvsock failed to load from ${path}: ${why}`, cause));
  }
  const missing = missingMembers(exported);
  if (missing.length > 0) {
    return err(unsupportedError(`the native part of @flow/hvsock at ${path} does not provide AF_VSOCK (no ${missing.join(', ')})`));
  }
  // A frozen copy: nobody can swap a function of the binding that the package uses.
  return ok(Object.freeze({ ...(exported as VsockBinding) }));
}

function missingMembers(exported: unknown): string[] {
  if (typeof exported !== 'object' || exported === null) return ['exports'];
  const members = exported as Record<string, unknown>;
  const missing: string[] = FUNCTIONS.filter((name) => typeof members[name] !== 'function');
  if (typeof members.constants !== 'object' || members.constants === null) missing.push('constants');
  return missing;
}
