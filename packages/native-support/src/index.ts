export { BUILD_FAILURE_NOTE, locateAddon } from './addon-location';
export type { AddonLocation, AddonOrigin, Lookup } from './addon-location';
export { nativeAddon } from './addon-loader';
export type { AddonResult, NativeAddon, NativeAddonSpec } from './addon-loader';
