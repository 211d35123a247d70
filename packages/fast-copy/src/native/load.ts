import { createRequire } from 'node:module';
import { err, ok, type FlowError, type Result } from '@flow/core';
import { unsupportedError } from '../errors';
import type { FastCopyBinding } from './binding';
import { locateFastCopyAddon, type AddonLocation } from './locate';

/** Every function the addon must export (src/native/binding.ts). */
const FUNCTIONS = ['start', 'stop', 'activity'] as const satisfies readonly (keyof FastCopyBinding)[];

let loaded: Result<FastCopyBinding, FlowError> | undefined;
let location: AddonLocation | undefined;

/**
 * The copy engine, loaded on first use (importing the package loads nothing native) and kept.
 * When it cannot be had, an `unsupported` FlowError says why in one line: not Linux, no prebuilt
 * binary and no source build, or a binary that does not load here.
 */
export function loadFastCopyBinding(): Result<FastCopyBinding, FlowError> {
  if (loaded === undefined) {
    const located = locateFastCopyAddon();
    if (!located.ok) {
      loaded = located;
    } else {
      loaded = loadBindingAt(located.value);
      if (loaded.ok) location = located.value;
    }
  }
  return loaded;
}

/** Where the engine was loaded from (prebuilt or built here); undefined until a load succeeded. */
export function fastCopyBindingLocation(): AddonLocation | undefined {
  return location;
}

/** Loads and checks the addon file at `location` (uncached: `loadFastCopyBinding` is the entry point). */
export function loadBindingAt({ path }: AddonLocation): Result<FastCopyBinding, FlowError> {
  let exported: unknown;
  try {
    // Node's own require: one copy of the addon per process, whoever asks for it.
    exported = createRequire(__filename)(path);
  } catch (cause) {
    // Duck-typed: the error comes from Node's loader, maybe from another realm (a test runner's).
    const message = (cause as { message?: unknown } | null)?.message;
    const why = typeof message === 'string' ? message : String(cause);
    return err(unsupportedError(`the native part of @flow/fast-copy failed to load from ${path}: ${why}`, cause));
  }
  const missing = missingMembers(exported);
  if (missing.length > 0) {
    return err(unsupportedError(`the native part of @flow/fast-copy at ${path} is not the copy engine (no ${missing.join(', ')})`));
  }
  // A frozen copy: nobody can swap a function of the binding that the package uses.
  return ok(Object.freeze({ ...(exported as FastCopyBinding) }));
}

function missingMembers(exported: unknown): string[] {
  if (typeof exported !== 'object' || exported === null) return ['exports'];
  const members = exported as Record<string, unknown>;
  return FUNCTIONS.filter((name) => typeof members[name] !== 'function');
}
