import { resolve } from 'node:path';
import type { FlowError } from '@flow/core';
import { nativeAddon } from '@flow/native-support';
import { unsupportedError } from '../errors';
import type { VsockBinding } from './binding';

/** Every function the addon must export (src/native/binding.ts). */
const FUNCTIONS = [
  'socket', 'bind', 'listen', 'accept', 'connect', 'socketError', 'localAddress', 'remoteAddress', 'read',
  'writev', 'shutdown', 'close', 'localCid', 'setBufferSize', 'bufferSize', 'setConnectTimeout', 'pollOpen',
  'pollWatch', 'pollClose',
] as const satisfies readonly (keyof VsockBinding)[];

/** The AF_VSOCK addon as @flow/native-support finds and loads it, with this package's words and errors. */
export const vsockAddon = nativeAddon<VsockBinding, FlowError>({
  packageName: '@flow/hvsock',
  // From src/native (under ts-jest) as from dist/native (installed).
  packageRoot: resolve(__dirname, '..', '..'),
  unavailableOn: (platform) => (platform === 'linux' ? undefined : `AF_VSOCK needs Linux; this is ${platform}`),
  functions: FUNCTIONS,
  objects: ['constants'],
  notTheAddon: 'does not provide AF_VSOCK',
  unsupported: unsupportedError,
});
