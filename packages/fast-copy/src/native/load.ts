import type { FlowError, Result } from '@flow/core';
import type { AddonLocation } from '@flow/native-support';
import type { FastCopyBinding } from './binding';
import { fastCopyAddon } from './addon';

/**
 * The copy engine, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why in one line: not Linux, no prebuilt
 * binary and no source build, or a binary that does not load here.
 */
export function loadFastCopyBinding(): Result<FastCopyBinding, FlowError> {
  return fastCopyAddon.load();
}

/** Where the engine was loaded from (prebuilt or built here); undefined until a load succeeded. */
export function fastCopyBindingLocation(): AddonLocation | undefined {
  return fastCopyAddon.location();
}

/** Loads and checks the addon file at `location` (uncached: `loadFastCopyBinding` is the entry point). */
export function loadBindingAt(location: AddonLocation): Result<FastCopyBinding, FlowError> {
  return fastCopyAddon.loadAt(location);
}
