/**
 * GUIDs as Hyper-V sockets use them: text in the canonical lowercase 8-4-4-4-12 form, and the
 * 16-byte Windows `GUID` struct layout that goes into `SOCKADDR_HV`.
 *
 * The Windows layout is mixed-endian: Data1 is a little-endian u32, Data2 and Data3 are
 * little-endian u16, and Data4 is 8 bytes in text order. So `00000050-facb-11e6-bd58-64006a7986d3`
 * is stored as `50 00 00 00 cb fa e6 11 bd 58 64 00 6a 79 86 d3` (linuxkit/virtsock @cb6a20cc
 * `pkg/hvsock`, mingw-w64 `guiddef.h`).
 */

/** The size of a Windows `GUID` struct in bytes. */
export const GUID_SIZE = 16;

/** 8-4-4-4-12 hex digits, optionally in braces (as PowerShell and the registry print them). */
const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/**
 * The canonical text of a GUID (lowercase, no braces), or `undefined` when `text` is not one.
 * Upper case and one pair of braces are accepted; anything else (missing dashes, stray spaces,
 * a lone brace) is not.
 */
export function parseGuid(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = GUID_TEXT.exec(text);
  if (!m) return undefined;
  // Braces come as a pair or not at all.
  if (text.startsWith('{') !== text.endsWith('}')) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
}

/** Whether `text` is a GUID in any accepted spelling (see `parseGuid`). */
export function isGuid(text: string): boolean {
  return parseGuid(text) !== undefined;
}

/** The canonical text of `text`; a string that is not a GUID is a programmer error here. */
export function canonicalGuid(text: string): string {
  const g = parseGuid(text);
  if (g === undefined) throw new RangeError(`not a GUID: ${JSON.stringify(text)}`);
  return g;
}

/** The 16 bytes of a GUID in the Windows struct layout. Throws RangeError for text that is not a GUID. */
export function guidToBytes(guid: string): Buffer {
  const hex = canonicalGuid(guid).replace(/-/g, '');
  const text = Buffer.from(hex, 'hex'); // the 16 bytes in text order
  const out = Buffer.alloc(GUID_SIZE);
  out.writeUInt32LE(text.readUInt32BE(0), 0); // Data1
  out.writeUInt16LE(text.readUInt16BE(4), 4); // Data2
  out.writeUInt16LE(text.readUInt16BE(6), 6); // Data3
  text.copy(out, 8, 8, 16); // Data4, in order
  return out;
}

/** The canonical text of the Windows `GUID` struct at `bytes[offset..offset+16)`. */
export function guidFromBytes(bytes: Uint8Array, offset = 0): string {
  if (!Number.isInteger(offset) || offset < 0 || offset + GUID_SIZE > bytes.length) {
    throw new RangeError(`a GUID needs ${GUID_SIZE} bytes at offset ${offset}, but only ${bytes.length} bytes were given`);
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + offset, GUID_SIZE);
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
  const data4 = b.subarray(8, 16).toString('hex');
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${data4.slice(0, 4)}-${data4.slice(4)}`;
}

// The well-known GUIDs of Hyper-V sockets, as mingw-w64's hvsocket.h (Debian mingw-w64-common
// 10.0.0-3) and microsoft/go-winio hvsock.go @0a4c421c define them.

/** The all-zero GUID. */
export const HV_GUID_ZERO = '00000000-0000-0000-0000-000000000000';
/** As a VM id: listen for connections from every partition. The same GUID as `HV_GUID_ZERO`. */
export const HV_GUID_WILDCARD = HV_GUID_ZERO;
/** As a VM id: every partition (broadcast). */
export const HV_GUID_BROADCAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** As a VM id: the child partitions of this host (listen for connections from VMs). */
export const HV_GUID_CHILDREN = '90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd';
/** As a VM id: this partition itself (loopback). */
export const HV_GUID_LOOPBACK = 'e0e16197-dd56-4a10-9195-5ee7a155a838';
/** As a VM id: the parent partition (from a guest: its host). */
export const HV_GUID_PARENT = 'a42e7cda-d03f-480c-9cc2-a4de20abb878';
/** As a VM id: the host of a silo (a Windows Server container). */
export const HV_GUID_SILOHOST = '36bd0c5c-7276-4223-88ba-7d03b654c568';
/**
 * The service-id template for vsock ports: `<port %08x>-facb-11e6-bd58-64006a7986d3`. Linux's
 * `hv_sock` accepts only service ids of this shape and takes Data1 as the AF_VSOCK port
 * (gregkh/linux `net/vmw_vsock/hyperv_transport.c`, `srv_id_template`).
 */
export const HV_GUID_VSOCK_TEMPLATE = '00000000-facb-11e6-bd58-64006a7986d3';

/** The names a URI may use for the well-known VM ids. */
export type WellKnownVmIdName = 'wildcard' | 'children' | 'loopback' | 'parent' | 'silohost' | 'broadcast';

/** The well-known VM ids by name. */
export const WELL_KNOWN_VM_IDS: Readonly<Record<WellKnownVmIdName, string>> = Object.freeze({
  wildcard: HV_GUID_WILDCARD,
  children: HV_GUID_CHILDREN,
  loopback: HV_GUID_LOOPBACK,
  parent: HV_GUID_PARENT,
  silohost: HV_GUID_SILOHOST,
  broadcast: HV_GUID_BROADCAST,
});

const VM_ID_NAMES: ReadonlyMap<string, WellKnownVmIdName> = new Map(
  (Object.entries(WELL_KNOWN_VM_IDS) as [WellKnownVmIdName, string][]).map(([name, guid]) => [guid, name]),
);

/** The name of a well-known VM id (`parent` for `a42e7cda-…`), or `undefined` for any other GUID. */
export function wellKnownVmIdName(guid: string): WellKnownVmIdName | undefined {
  const g = parseGuid(guid);
  return g === undefined ? undefined : VM_ID_NAMES.get(g);
}

/** The GUID of a well-known VM id name (case-insensitive), or `undefined` for any other text. */
export function wellKnownVmId(name: string): string | undefined {
  const key = name.toLowerCase();
  return Object.prototype.hasOwnProperty.call(WELL_KNOWN_VM_IDS, key) ? WELL_KNOWN_VM_IDS[key as WellKnownVmIdName] : undefined;
}

/**
 * The largest port that maps into a service id. Linux's `hv_sock` keeps the ports above it for
 * the host's ephemeral ports, and libzmq refuses them too (zeromq/libzmq `hvsocket_address.cpp`).
 */
export const MAX_SERVICE_PORT = 0x7fffffff;

const TEMPLATE_TAIL = HV_GUID_VSOCK_TEMPLATE.slice(8); // "-facb-11e6-bd58-64006a7986d3"

/** The service id of a vsock port: `80` → `00000050-facb-11e6-bd58-64006a7986d3`. Throws RangeError outside 0-0x7fffffff. */
export function serviceIdForPort(port: number): string {
  if (!Number.isInteger(port) || port < 0 || port > MAX_SERVICE_PORT) {
    throw new RangeError(`a port mapped into a service id must be an integer from 0 to ${MAX_SERVICE_PORT} (0x7fffffff), got ${String(port)}`);
  }
  return port.toString(16).padStart(8, '0') + TEMPLATE_TAIL;
}

/**
 * The vsock port that a service id stands for (its Data1, as Linux's `get_port_by_srv_id`
 * reads it), or `undefined` when the GUID is not of the template's shape. Any u32 Data1 is
 * reported, including ports above `MAX_SERVICE_PORT` that the kernel hands out itself.
 */
export function servicePort(guid: string): number | undefined {
  const g = parseGuid(guid);
  if (g === undefined || !g.endsWith(TEMPLATE_TAIL)) return undefined;
  return parseInt(g.slice(0, 8), 16);
}
