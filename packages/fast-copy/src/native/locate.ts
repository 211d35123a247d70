import type { FlowError, Result } from '@flow/core';
import { BUILD_FAILURE_NOTE, type AddonLocation } from '@flow/native-support';
import { fastCopyAddon } from './addon';

export type { AddonLocation, AddonOrigin } from '@flow/native-support';

/** The package's root, from src/native (under ts-jest) as from dist/native (installed). */
export const packageRoot = fastCopyAddon.packageRoot;

/** Left by the build and install scripts when a source build failed: its one-line reason. */
export const buildFailureNote = BUILD_FAILURE_NOTE;

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
  return fastCopyAddon.locate(root, platform, arch);
}
