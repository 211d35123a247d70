import { resolve } from 'node:path';
import type { FlowError } from '@flow/core';
import { nativeAddon } from '@flow/native-support';
import { unsupportedError } from '../errors';
import type { FastCopyBinding } from './binding';

/** Every function the addon must export (src/native/binding.ts). */
const FUNCTIONS = ['start', 'stop', 'activity'] as const satisfies readonly (keyof FastCopyBinding)[];

/** The copy engine as @flow/native-support finds and loads it, with this package's words and errors. */
export const fastCopyAddon = nativeAddon<FastCopyBinding, FlowError>({
  packageName: '@flow/fast-copy',
  // From src/native (under ts-jest) as from dist/native (installed).
  packageRoot: resolve(__dirname, '..', '..'),
  unavailableOn: (platform) => (platform === 'linux' ? undefined : `the native copy engine needs Linux; this is ${platform}`),
  functions: FUNCTIONS,
  notTheAddon: 'is not the copy engine',
  unsupported: unsupportedError,
});
