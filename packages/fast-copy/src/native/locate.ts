import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { err, ok, type FlowError, type Result } from '@flow/core';
import { unsupportedError } from '../errors';

/** Where the addon file came from: shipped prebuilt in the package, or compiled on this machine. */
export type AddonOrigin = 'prebuild' | 'build';

/** Where the native addon was found. */
export interface AddonLocation {
  /** The absolute path of the `.node` file. */
  readonly path: string;
  /** `prebuild` for prebuilds/<platform>-<arch>/, `build` for build/Release (or build/Debug). */
  readonly origin: AddonOrigin;
}

/** The package's root, from src/native (under ts-jest) as from dist/native (installed). */
export const packageRoot = resolve(__dirname, '..', '..');

/** Left by the build and install scripts when a source build failed: its one-line reason. */
export const buildFailureNote = join('build', 'native-build-failure.txt');

interface NodeGypBuild {
  /** The addon file node-gyp-build would load (build/Release first, then prebuilds/); throws if none. */
  resolve(dir: string): string;
}

/**
 * Finds the copy engine the way node-gyp-build does, without loading it. The error is an
 * `unsupported` FlowError that says exactly why there is none: another system, or no prebuilt
 * binary for this one and no source build (with the build's own reason when it left one).
 */
export function locateFastCopyAddon(
  root: string = packageRoot,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): Result<AddonLocation, FlowError> {
  if (platform !== 'linux') return err(unsupportedError(`the native copy engine needs Linux; this is ${platform}`));
  let path: string;
  try {
    const nodeGypBuild = createRequire(__filename)('node-gyp-build') as NodeGypBuild;
    path = nodeGypBuild.resolve(root);
  } catch (cause) {
    return err(
      unsupportedError(
        `the native part of @flow/fast-copy is missing: no prebuilt binary for ${platform}-${arch} (napi) and no source ` +
          `build (${missingBuildReason(root)}); reinstall with python3, make and a C compiler available`,
        cause,
      ),
    );
  }
  const origin: AddonOrigin = path.includes(`${sep}prebuilds${sep}`) ? 'prebuild' : 'build';
  return ok({ path, origin });
}

function missingBuildReason(root: string): string {
  try {
    const note = readFileSync(join(root, buildFailureNote), 'utf8').trim();
    if (note) return note;
  } catch {
    // no note: no build was tried here
  }
  return `${join('build', 'Release')} holds no addon`;
}
