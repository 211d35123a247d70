import { createRequire } from 'node:module';
import { err, ok, type FlowError, type Result } from '@flow/core';
import { XEN_BINDING_FUNCTIONS, type XenBinding } from './native-binding';
import { unsupportedError } from './native-errors';
import { locateXenAddon, type AddonLocation } from './native-locate';

let loaded: Result<XenBinding, FlowError> | undefined;
let location: AddonLocation | undefined;

/**
 * The Xen addon, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why: not Linux, no prebuilt binary and
 * no source build, or a binary that does not load here. Whether Xen itself is there (the
 * devices) is a separate question: `xenDevicesAvailable`.
 */
export function loadXenBinding(): Result<XenBinding, FlowError> {
  if (loaded === undefined) {
    const located = locateXenAddon();
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
export function xenBindingLocation(): AddonLocation | undefined {
  return location;
}

/** Loads and checks the addon file at `location` (uncached: `loadXenBinding` is the entry point). */
export function loadBindingAt({ path }: AddonLocation): Result<XenBinding, FlowError> {
  let exported: unknown;
  try {
    // Node's own require: one copy of the addon per process, whoever asks for it.
    exported = createRequire(__filename)(path);
  } catch (cause) {
    // Duck-typed: the error comes from Node's loader, maybe from another realm (a test runner's).
    const message = (cause as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' ? message : String(cause);
    return err(unsupportedError(`the native part of @flow/xen-console failed to load from ${path}: ${why}`, { cause }));
  }
  const missing = missingMembers(exported);
  if (missing.length > 0) {
    return err(unsupportedError(`the native part of @flow/xen-console at ${path} does not provide gntdev and evtchn (no ${missing.join(', ')})`));
  }
  // A frozen copy: nobody can swap a function of the binding that the package uses.
  return ok(Object.freeze({ ...(exported as XenBinding) }));
}

function missingMembers(exported: unknown): string[] {
  if (typeof exported !== 'object' || exported === null) return ['exports'];
  const members = exported as Record<string, unknown>;
  const missing: string[] = XEN_BINDING_FUNCTIONS.filter((name) => typeof members[name] !== 'function');
  if (typeof members.constants !== 'object' || members.constants === null) missing.push('constants');
  return missing;
}
