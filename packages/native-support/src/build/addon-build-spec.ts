/**
 * What one package says about its addon to the build, install and prebuild steps: its name,
 * where it is, and the words its messages use. The package keeps it in its
 * `scripts/native-addon.js` (shipped, since the install step reads it on users' machines).
 */
export interface AddonBuildSpec {
  /** The npm name that starts every message: `@flow/hvsock`. */
  readonly packageName: string;
  /** The package's root folder (where binding.gyp, native/, build/ and prebuilds/ are). */
  readonly packageRoot: string;
  /** The systems the addon means something on; elsewhere every step does nothing. */
  readonly platforms: readonly NodeJS.Platform[];
  /** The file node-gyp builds into build/Release: `hvsock.node`. */
  readonly addonFile: string;
  /** The addon, in "the ... was not built": `AF_VSOCK addon`. */
  readonly addonName: string;
  /** The prebuilt file, in "no prebuilt ... for linux-arm64": `AF_VSOCK binary`. */
  readonly prebuiltName: string;
  /** What works without it and how to get it, the install warning's last sentence. */
  readonly withoutIt: string;
}

/** Whether the addon means something on this system (elsewhere the package's TypeScript parts work alone). */
export function hasNativePart(spec: AddonBuildSpec): boolean {
  return spec.platforms.includes(process.platform);
}
