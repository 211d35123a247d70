import { err, ok, type FlowError, type Result } from '@flow/core';
import { errnoError } from '../errors';
import { loadVsockBinding } from '../native/load';

/**
 * This machine's own CID, from `IOCTL_VM_SOCKETS_GET_LOCAL_CID` on `/dev/vsock` (not on a socket,
 * where the ioctl gives ENOTTY, as upstream's `local ()` does): 3 or more in a guest, 2 on a
 * host, 1 with only the loopback transport. Errors: `unsupported` (no addon, not Linux),
 * `not-found` (no /dev/vsock: no vsock transport loaded).
 */
export function localCid(): Result<number, FlowError> {
  const b = loadVsockBinding();
  if (!b.ok) return b;
  const cid = b.value.localCid();
  return cid < 0 ? err(errnoError(cid, 'ioctl', 'cannot read the local CID from /dev/vsock')) : ok(cid);
}
