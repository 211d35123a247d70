import { endianness } from 'node:os';
import { err, FlowError, ok, type Result } from '@flow/core';
import type { VsockAddress } from './types';

// Constants of Linux's AF_VSOCK (linux/vm_sockets.h, linux-libc-dev 6.1; the family from
// linux/socket.h). A test compiles a C program against the real headers and compares.

/** The socket family of Linux vsock. */
export const AF_VSOCK = 40;
/** As a CID: any (bind on every CID). `-1U` in C. */
export const VMADDR_CID_ANY = 0xffffffff;
/** As a CID: the hypervisor. */
export const VMADDR_CID_HYPERVISOR = 0;
/** As a CID: this machine (loopback through `vsock_loopback`, Linux >= 5.6). */
export const VMADDR_CID_LOCAL = 1;
/** As a CID: the host, seen from a guest. */
export const VMADDR_CID_HOST = 2;
/** As a port: any (binding picks a free one). `-1U` in C. */
export const VMADDR_PORT_ANY = 0xffffffff;
/** In `svm_flags`: route to the host even when the CID belongs to a nested guest (for nested VMs). */
export const VMADDR_FLAG_TO_HOST = 0x01;
/** The size of `struct sockaddr_vm` (the size of `struct sockaddr`). */
export const SOCKADDR_VM_SIZE = 16;

/** The largest u32, the range of CIDs and ports. */
export const U32_MAX = 0xffffffff;

/** The CIDs that have a name in URIs and messages. */
export type CidName = 'any' | 'hypervisor' | 'local' | 'host';

/** The named CIDs. */
export const NAMED_CIDS: Readonly<Record<CidName, number>> = Object.freeze({
  any: VMADDR_CID_ANY,
  hypervisor: VMADDR_CID_HYPERVISOR,
  local: VMADDR_CID_LOCAL,
  host: VMADDR_CID_HOST,
});

const CID_NAMES: ReadonlyMap<number, CidName> = new Map(
  (Object.entries(NAMED_CIDS) as [CidName, number][]).map(([name, cid]) => [cid, name]),
);

/** The CID of a name (case-insensitive), or `undefined` when `name` is not one of `any|hypervisor|local|host`. */
export function namedCid(name: string): number | undefined {
  const key = name.toLowerCase();
  return Object.prototype.hasOwnProperty.call(NAMED_CIDS, key) ? NAMED_CIDS[key as CidName] : undefined;
}

/** A CID for printing: its name when it has one (`host`), otherwise the decimal number (`3`). */
export function cidName(cid: number): string {
  return CID_NAMES.get(cid) ?? String(cid);
}

/** The fields of `struct sockaddr_vm` that carry meaning. */
export interface SockaddrVm {
  /** `svm_cid`: the context id, a u32. */
  readonly cid: number;
  /** `svm_port`: the port, a u32. */
  readonly port: number;
  /** `svm_flags`; only `VMADDR_FLAG_TO_HOST` is defined. Default 0. */
  readonly flags?: number;
}

// sockaddr_vm is in host byte order. Every Linux that Node runs on in practice is
// little-endian (x86-64, arm64), but a big-endian host would want its own order.
const LITTLE_ENDIAN = endianness() === 'LE';

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`${name} must be an integer from 0 to 4294967295, got ${String(value)}`);
  }
}

/**
 * `struct sockaddr_vm` as the kernel reads it: u16 `svm_family` (AF_VSOCK), u16
 * `svm_reserved1`, u32 `svm_port`, u32 `svm_cid`, u8 `svm_flags`, 3 zero bytes; host byte order.
 * Out-of-range fields are a programmer error (RangeError).
 */
export function encodeSockaddrVm(addr: SockaddrVm): Buffer {
  const flags = addr.flags ?? 0;
  checkU32('cid', addr.cid);
  checkU32('port', addr.port);
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new RangeError(`flags must be an integer from 0 to 255, got ${String(flags)}`);
  const b = Buffer.alloc(SOCKADDR_VM_SIZE);
  if (LITTLE_ENDIAN) {
    b.writeUInt16LE(AF_VSOCK, 0);
    b.writeUInt32LE(addr.port, 4);
    b.writeUInt32LE(addr.cid, 8);
  } else {
    b.writeUInt16BE(AF_VSOCK, 0);
    b.writeUInt32BE(addr.port, 4);
    b.writeUInt32BE(addr.cid, 8);
  }
  b.writeUInt8(flags, 12);
  return b;
}

/**
 * The address in a `struct sockaddr_vm` (from `getsockname`, `getpeername`, `accept`).
 * A buffer of the wrong size or family gives a `protocol` error; the reserved bytes are
 * ignored, as the kernel ignores them.
 */
export function decodeSockaddrVm(bytes: Uint8Array): Result<Required<SockaddrVm>, FlowError> {
  if (bytes.length !== SOCKADDR_VM_SIZE) {
    return err(new FlowError('protocol', `a sockaddr_vm is ${SOCKADDR_VM_SIZE} bytes, got ${bytes.length}`));
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const family = LITTLE_ENDIAN ? b.readUInt16LE(0) : b.readUInt16BE(0);
  if (family !== AF_VSOCK) return err(new FlowError('protocol', `not an AF_VSOCK address: family ${family}, expected ${AF_VSOCK}`));
  const port = LITTLE_ENDIAN ? b.readUInt32LE(4) : b.readUInt32BE(4);
  const cid = LITTLE_ENDIAN ? b.readUInt32LE(8) : b.readUInt32BE(8);
  return ok({ cid, port, flags: b.readUInt8(12) });
}

/** The `sockaddr_vm` fields of a vsock address (`toHost` becomes `VMADDR_FLAG_TO_HOST`). */
export function sockaddrVmOf(a: VsockAddress): SockaddrVm {
  return { cid: a.cid, port: a.port, flags: a.toHost ? VMADDR_FLAG_TO_HOST : 0 };
}

/** The vsock address of `sockaddr_vm` fields; `toHost` is present only when the flag is set. */
export function vsockAddressOf(s: SockaddrVm): VsockAddress {
  const toHost = ((s.flags ?? 0) & VMADDR_FLAG_TO_HOST) !== 0;
  return toHost ? { kind: 'vsock', cid: s.cid, port: s.port, toHost } : { kind: 'vsock', cid: s.cid, port: s.port };
}
