import { err, OK, type FlowError, type Result } from '@flow/core';
import type { XenBinding } from './native-binding';
import { deviceError } from './native-errors';

/**
 * Whether Xen is here: opens /dev/xen/gntdev and /dev/xen/evtchn (they stay open for this
 * thread). The error names the device that failed and what that means, e.g. kind `unsupported`,
 * code ENOENT, "no Xen: /dev/xen/gntdev does not exist (...)".
 */
export function xenDevicesAvailable(binding: XenBinding): Result<void, FlowError> {
  const answer = binding.available();
  if (answer === 0) return OK;
  const [errno, device] = answer;
  return err(deviceError(errno, device));
}
