import { err, FlowError, ok, type Result } from '@flow/core';
import { canonicalGuid, guidFromBytes, guidToBytes, GUID_SIZE, HV_GUID_PARENT, HV_GUID_WILDCARD, MAX_SERVICE_PORT, serviceIdForPort, servicePort } from './guid';
import type { HypervAddress, VsockAddress } from './types';
import { VMADDR_CID_ANY, VMADDR_CID_HOST } from './vsock';

/** The socket family of Hyper-V sockets on Windows (not in mingw's winsock headers). */
export const AF_HYPERV = 34;
/** The protocol of Hyper-V stream sockets, and the level of their socket options. */
export const HV_PROTOCOL_RAW = 1;
/** The size of `SOCKADDR_HV`. */
export const SOCKADDR_HV_SIZE = 36;

/** The fields of `SOCKADDR_HV` that carry meaning, as GUID text. */
export interface SockaddrHv {
  /** `VmId`: the VM's GUID (decoded ones are canonical lowercase text). */
  readonly vmId: string;
  /** `ServiceId`: the service's GUID (decoded ones are canonical lowercase text). */
  readonly serviceId: string;
}

/**
 * `SOCKADDR_HV` as Winsock reads it: u16 `Family` (AF_HYPERV), u16 `Reserved`, `GUID VmId`,
 * `GUID ServiceId`, the GUIDs in the Windows layout (SvenGroot/Ookii.VmSockets `HvSocket.cs`
 * @3d20ebaa, mingw-w64 `hvsocket.h`). Windows is little-endian on every architecture it runs on.
 * Text that is not a GUID is a programmer error (RangeError).
 */
export function encodeSockaddrHv(addr: SockaddrHv): Buffer {
  const vmId = guidToBytes(addr.vmId);
  const serviceId = guidToBytes(addr.serviceId);
  const b = Buffer.alloc(SOCKADDR_HV_SIZE);
  b.writeUInt16LE(AF_HYPERV, 0);
  vmId.copy(b, 4);
  serviceId.copy(b, 4 + GUID_SIZE);
  return b;
}

/** The address in a `SOCKADDR_HV` (from `accept`, `getsockname`); wrong size or family gives a `protocol` error. */
export function decodeSockaddrHv(bytes: Uint8Array): Result<SockaddrHv, FlowError> {
  if (bytes.length !== SOCKADDR_HV_SIZE) {
    return err(new FlowError('protocol', `a SOCKADDR_HV is ${SOCKADDR_HV_SIZE} bytes, got ${bytes.length}`));
  }
  const family = bytes[0] | (bytes[1] << 8);
  if (family !== AF_HYPERV) return err(new FlowError('protocol', `not an AF_HYPERV address: family ${family}, expected ${AF_HYPERV}`));
  return ok({ vmId: guidFromBytes(bytes, 4), serviceId: guidFromBytes(bytes, 4 + GUID_SIZE) });
}

/** The Hyper-V address of `SOCKADDR_HV` fields. */
export function hypervAddressOf(s: SockaddrHv): HypervAddress {
  return { kind: 'hvsock', vmId: canonicalGuid(s.vmId), serviceId: canonicalGuid(s.serviceId) };
}

// Where Hyper-V and vsock addresses mean the same thing. A Linux guest on Hyper-V speaks
// AF_VSOCK through `hv_sock`: its only peer is the host (CID 2, the parent partition), and a
// port is the service id `<port %08x>-facb-11e6-bd58-64006a7986d3` (gregkh/linux
// `net/vmw_vsock/hyperv_transport.c`). ocaml-hvsock's `lib/socket.ml` maps the same way:
// any ⇄ wildcard, host ⇄ parent.

/**
 * The AF_VSOCK address a Linux guest on Hyper-V would use for a Hyper-V address, or
 * `undefined` when there is none: a service id outside the template, or a VM id other than
 * wildcard (→ CID any, to listen) and parent (→ CID host).
 */
export function vsockFromHyperv(a: HypervAddress): VsockAddress | undefined {
  const port = servicePort(a.serviceId);
  if (port === undefined) return undefined;
  const vmId = canonicalGuid(a.vmId);
  if (vmId === HV_GUID_WILDCARD) return { kind: 'vsock', cid: VMADDR_CID_ANY, port };
  if (vmId === HV_GUID_PARENT) return { kind: 'vsock', cid: VMADDR_CID_HOST, port };
  return undefined;
}

/**
 * The Hyper-V address that stands for a vsock address on Windows, or `undefined` when there is
 * none: a CID other than any (→ wildcard) and host (→ parent), or a port above 0x7fffffff
 * (including `VMADDR_PORT_ANY`), which has no service id. `toHost` has no Hyper-V counterpart
 * and is not carried over.
 */
export function hypervFromVsock(a: VsockAddress): HypervAddress | undefined {
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > MAX_SERVICE_PORT) return undefined;
  const serviceId = serviceIdForPort(a.port);
  if (a.cid === VMADDR_CID_ANY) return { kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId };
  if (a.cid === VMADDR_CID_HOST) return { kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId };
  return undefined;
}
