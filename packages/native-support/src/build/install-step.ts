import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddonBuildSpec } from './addon-build-spec';
import { hasNativePart } from './addon-build-spec';
import { buildFromSource } from './offline-node-gyp';

/**
 * A package's npm `install` script. Users on a system with a prebuilt binary (prebuilds/, in the
 * tarball) need nothing more; elsewhere the addon is built from source, offline. If that fails
 * too the install still succeeds, with a warning: the package's other parts work, and using the
 * addon returns the package's typed error that says why it is missing. Never throws.
 */
export function runInstallStep(spec: AddonBuildSpec): void {
  try {
    // In the source tree (which has tsconfig.json, never shipped) the workspace build builds the addon.
    if (fs.existsSync(path.join(spec.packageRoot, 'tsconfig.json'))) return;
    if (!hasNativePart(spec)) return;
    if (loadsAlready(spec.packageRoot)) return;
    const result = buildFromSource(spec.packageRoot);
    if (result.ok && loadsAlready(spec.packageRoot)) return;
    const reason = result.ok ? 'the source build does not load' : result.reason;
    console.warn(
      `${spec.packageName}: warning: no prebuilt ${spec.prebuiltName} for ${process.platform}-${process.arch} and the source ` +
        `build failed (${reason}). ${spec.withoutIt}`,
    );
  } catch (error) {
    console.warn(`${spec.packageName}: warning: the native install step failed: ${(error as Error | undefined)?.message}`);
  }
}

/** node-gyp-build's choice (build/Release, then prebuilds/) loads in this Node. */
function loadsAlready(packageRoot: string): boolean {
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    nodeGypBuild(packageRoot);
    return true;
  } catch {
    return false;
  }
}
