import { createRequire } from 'node:module';
import { join } from 'node:path';
import { err, ok, type FlowError, type Result } from '@flow/core';
import { unsupportedError } from '../errors';
import { isHypervBinding, type HypervBinding } from './binding';

/** The package root (dist/hyperv/load.js and src/hyperv/load.ts are both two levels down). */
const PACKAGE_ROOT = join(__dirname, '..', '..');

let cached: Result<HypervBinding, FlowError> | undefined;

/**
 * The Windows addon (Hyper-V sockets), loaded on first use through `node-gyp-build` from the
 * package's prebuilds or its own build. Any failure (no build for this platform, a build without
 * the Windows exports) is an `unsupported` error, remembered so the lookup happens once.
 */
export function loadHypervBinding(): Result<HypervBinding, FlowError> {
  if (cached === undefined) cached = loadFrom(PACKAGE_ROOT);
  return cached;
}

/** Loads the addon from a package directory; exposed for tests and for callers with their own layout. */
export function loadHypervBindingFrom(root: string): Result<HypervBinding, FlowError> {
  return loadFrom(root);
}

function loadFrom(root: string): Result<HypervBinding, FlowError> {
  let loaded: unknown;
  try {
    // node-gyp-build has no type declarations; it returns the module's exports.
    const nodeGypBuild = createRequire(__filename)('node-gyp-build') as (dir: string) => unknown;
    loaded = nodeGypBuild(root);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return err(
      unsupportedError(
        `the @flow/hvsock addon could not be loaded for Hyper-V sockets on ${process.platform}-${process.arch} (${detail}); reinstall the package, or build it with node-gyp (Visual Studio C++ build tools)`,
        e,
      ),
    );
  }
  if (!isHypervBinding(loaded)) {
    return err(unsupportedError(`the @flow/hvsock addon for ${process.platform}-${process.arch} has no Hyper-V socket functions (it is not the Windows build)`));
  }
  return ok(loaded);
}
