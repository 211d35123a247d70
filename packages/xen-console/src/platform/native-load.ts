import type { FlowError, Result } from '@flow/core';
import type { AddonLocation } from '@flow/native-support';
import type { XenBinding } from './native-binding';
import { xenAddon } from './native-addon';

/**
 * The Xen addon, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why: not Linux, no prebuilt binary and
 * no source build, or a binary that does not load here. Whether Xen itself is there (the
 * devices) is a separate question: `xenDevicesAvailable`.
 */
export function loadXenBinding(): Result<XenBinding, FlowError> {
  return xenAddon.load();
}

/** Where the addon was loaded from (prebuilt or built here); undefined until a load succeeded. */
export function xenBindingLocation(): AddonLocation | undefined {
  return xenAddon.location();
}

/** Loads and checks the addon file at `location` (uncached: `loadXenBinding` is the entry point). */
export function loadBindingAt(location: AddonLocation): Result<XenBinding, FlowError> {
  return xenAddon.loadAt(location);
}
