import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';

/** Where the addon file came from: shipped prebuilt in the package, or compiled on this machine. */
export type AddonOrigin = 'prebuild' | 'build';

/** Where a package's native addon was found, and whether it was prebuilt or compiled here. */
export interface AddonLocation {
  /** The absolute path of the `.node` file. */
  readonly path: string;
  /** `prebuild` for prebuilds/<platform>-<arch>/, `build` for build/Release (or build/Debug). */
  readonly origin: AddonOrigin;
}

/**
 * Left (relative to the package root) by the build and install steps when a source build
 * failed: its one-line reason, which the loader quotes in its error. Writer and reader share
 * this one name so that they cannot drift apart.
 */
export const BUILD_FAILURE_NOTE = join('build', 'native-build-failure.txt');

/** What a lookup found: a value, or the sentence that says why there is none and what caused it. */
export type Lookup<T> =
  | {
      /** Found. */
      readonly ok: true;
      /** What was found. */
      readonly value: T;
    }
  | {
      /** Not found. */
      readonly ok: false;
      /** Why, as a sentence for the package's error message. */
      readonly reason: string;
      /** What failed underneath (node-gyp-build's error), for the package's error. */
      readonly cause?: unknown;
    };

interface NodeGypBuild {
  /** The addon file node-gyp-build would load (build/Release first, then prebuilds/); throws if none. */
  resolve(dir: string): string;
}

/**
 * Finds the addon of the package `packageName` rooted at `root` the way node-gyp-build does,
 * without loading it. When there is none the reason says exactly why: no prebuilt binary for
 * this system and no source build, with the build's own reason when it left one. Whether the
 * system can have the addon at all is the caller's question (its words differ per package).
 */
export function locateAddon(packageName: string, root: string, platform: NodeJS.Platform, arch: string): Lookup<AddonLocation> {
  let path: string;
  try {
    const nodeGypBuild = createRequire(__filename)('node-gyp-build') as NodeGypBuild;
    path = nodeGypBuild.resolve(root);
  } catch (cause) {
    return {
      ok: false,
      reason:
        `the native part of ${packageName} is missing: no prebuilt binary for ${platform}-${arch} (napi) and no source ` +
        `build (${missingBuildReason(root)}); reinstall with python3, make and a C compiler available`,
      cause,
    };
  }
  const origin: AddonOrigin = path.includes(`${sep}prebuilds${sep}`) ? 'prebuild' : 'build';
  return { ok: true, value: { path, origin } };
}

function missingBuildReason(root: string): string {
  try {
    const note = readFileSync(join(root, BUILD_FAILURE_NOTE), 'utf8').trim();
    if (note) return note;
  } catch {
    // no note: no build was tried here
  }
  return `${join('build', 'Release')} holds no addon`;
}
