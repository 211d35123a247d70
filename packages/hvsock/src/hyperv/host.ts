import { err, type FlowError, type Result } from '@flow/core';
import type { HypervAddress } from '../address/types';
import type { HypervBinding } from './binding';
import { loadHypervBinding } from './load';
import { hypervUnsupportedError } from './unsupported';

/**
 * Where Hyper-V sockets are opened: the platform, and how to load the Windows addon. The public
 * functions use the running process; tests pass a Windows host backed by a double of the addon.
 */
export interface HypervHost {
  /** The operating system; anything but `win32` makes Hyper-V calls return `unsupported`. */
  readonly platform: NodeJS.Platform;
  /** Loads the Windows addon, or returns the error that says why it cannot; called only on `win32`. */
  readonly loadBinding: () => Result<HypervBinding, FlowError>;
}

/** This process: `process.platform` and the package's own addon. */
export function currentHypervHost(): HypervHost {
  return { platform: process.platform, loadBinding: loadHypervBinding };
}

/** The addon, on Windows; elsewhere the `unsupported` error that says what to use instead. */
export function hypervBindingOn(host: HypervHost, address: HypervAddress, use: 'connect' | 'listen'): Result<HypervBinding, FlowError> {
  if (host.platform !== 'win32') return err(hypervUnsupportedError(address, use, host.platform));
  return host.loadBinding();
}
