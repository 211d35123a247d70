import { resolve } from 'node:path';
import type { FlowError } from '@flow/core';
import { nativeAddon } from '@flow/native-support';
import { XEN_BINDING_FUNCTIONS, type XenBinding } from './native-binding';
import { unsupportedError } from './native-errors';

/** The Xen addon as @flow/native-support finds and loads it, with this package's words and errors. */
export const xenAddon = nativeAddon<XenBinding, FlowError>({
  packageName: '@flow/xen-console',
  // From src/platform (under ts-jest) as from dist/platform (installed).
  packageRoot: resolve(__dirname, '..', '..'),
  unavailableOn: (platform) =>
    platform === 'linux' ? undefined : `the Xen platform needs Linux (/dev/xen/gntdev and /dev/xen/evtchn); this is ${platform}`,
  functions: XEN_BINDING_FUNCTIONS,
  objects: ['constants'],
  notTheAddon: 'does not provide gntdev and evtchn',
  unsupported: (message, cause) => unsupportedError(message, { cause }),
});
