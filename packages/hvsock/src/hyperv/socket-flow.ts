import { err, FlowError, ok, type Result } from '@flow/core';
import { canonicalGuid, guidFromBytes } from '../address/guid';
import type { HypervAddress } from '../address/types';
import { formatAddress } from '../address/uri';
import { DEFAULT_MESSAGE_SIZE } from '../buffered-flow';
import { SocketFlow, type SocketFlowOptions } from '../socket-flow';
import type { HypervBinding, HypervSocketHandle } from './binding';
import { WindowsSocket } from './windows-socket';
import { windowsSocketError } from './wsa-errors';

/**
 * A connected Hyper-V socket as a flow: the completion-to-readiness socket under the package's
 * buffered socket flow, as AF_VSOCK has it.
 *
 * Upstream sent at most 8 KiB per call because Linux 4.9 guests failed silently on larger Hyper-V
 * messages (linuxkit/virtsock @cb6a20cc, `maxMsgSize`); the default here is the package's 64 KiB,
 * and `messageSize: 8192` is the setting for such old guests.
 */
export function hypervFlow(
  binding: HypervBinding,
  handle: HypervSocketHandle,
  options: SocketFlowOptions,
  remote: HypervAddress,
  local: HypervAddress | undefined,
): SocketFlow {
  const label = `${local ? formatAddress(local) : 'hvsock'} -> ${formatAddress(remote)}`;
  const socket = new WindowsSocket(binding, handle, { messageSize: options.messageSize ?? DEFAULT_MESSAGE_SIZE, label });
  return new SocketFlow(socket, remote, local, options, label);
}

/** The address in canonical form; anything but a Hyper-V address with two GUIDs is a programmer error. */
export function checkHypervAddress(address: HypervAddress): HypervAddress {
  if (typeof address !== 'object' || address === null || address.kind !== 'hvsock') {
    throw new TypeError(`expected a Hyper-V address { kind: 'hvsock', vmId, serviceId }, got ${JSON.stringify(address)}`);
  }
  return { kind: 'hvsock', vmId: canonicalGuid(address.vmId), serviceId: canonicalGuid(address.serviceId) };
}

/** A Hyper-V address from the addon's pair of GUID byte arrays. */
export function addressFromBytes(vmId: Uint8Array, serviceId: Uint8Array): HypervAddress {
  return { kind: 'hvsock', vmId: guidFromBytes(vmId), serviceId: guidFromBytes(serviceId) };
}

/** `getsockname` as an address, or undefined when Windows does not tell. */
export function localAddressOf(binding: HypervBinding, handle: HypervSocketHandle): HypervAddress | undefined {
  const r = binding.hvLocalAddress(handle);
  return typeof r === 'number' ? undefined : addressFromBytes(r[0], r[1]);
}


/** A new AF_HYPERV socket, or the error; a Windows without Hyper-V sockets gets told so. */
export function createHypervSocket(binding: HypervBinding, context: string): Result<HypervSocketHandle, FlowError> {
  const handle = binding.hvSocket();
  if (typeof handle !== 'number') return ok(handle);
  const e = windowsSocketError(handle, 'socket', context);
  if (e.code !== 'EAFNOSUPPORT' && e.code !== 'EPROTONOSUPPORT') return err(e);
  return err(
    new FlowError('unsupported', `${e.message}: this Windows has no Hyper-V sockets (they need Windows 10 or Windows Server 2016, or later)`, {
      code: e.code,
      errno: e.errno,
      syscall: e.syscall,
    }),
  );
}
