export { startCopy, DEFAULT_BUFFER_SIZE, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE } from './start-copy';
export type { CopyMode, FastCopy, FastCopyOptions, FastCopyResult } from './start-copy';
export { lendSocket } from './lend-socket';
export type { LentSocket } from './lend-socket';
export { loadFastCopyBinding, fastCopyBindingLocation } from './native/load';
export { locateFastCopyAddon } from './native/locate';
export type { AddonLocation, AddonOrigin } from './native/locate';
export { createFastCopyAccelerator, fastCopyAccelerator } from './accelerator';
export type { FastCopyAcceleratorOptions } from './accelerator';
