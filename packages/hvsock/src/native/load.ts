import type { FlowError, Result } from '@flow/core';
import type { AddonLocation } from '@flow/native-support';
import type { VsockBinding } from './binding';
import { vsockAddon } from './addon';

/**
 * The AF_VSOCK addon, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why: not Linux, no prebuilt binary and
 * no source build, or a binary that does not load here.
 */
export function loadVsockBinding(): Result<VsockBinding, FlowError> {
  return vsockAddon.load();
}

/** Where the addon was loaded from (prebuilt or built here); undefined until a load succeeded. */
export function vsockBindingLocation(): AddonLocation | undefined {
  return vsockAddon.location();
}

/** Loads and checks the addon file at `location` (uncached: `loadVsockBinding` is the entry point). */
export function loadBindingAt(location: AddonLocation): Result<VsockBinding, FlowError> {
  return vsockAddon.loadAt(location);
}
