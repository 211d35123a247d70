import { checkVsockPort } from '../hybrid/connect-line';

/** Length of Hyperkit's connect header `%08x.%08x\n`. */
export const HYPERKIT_HEADER_BYTES = 18;

/** The guest CID Hyperkit VMs use unless configured otherwise (`guest_cid=3`). */
export const DEFAULT_HYPERKIT_GUEST_CID = 3;

/**
 * Hyperkit's connect header: the guest CID and port as 8 lower-case hex digits each, a dot and a
 * newline, 18 bytes. It must go out in one write: `handle_connect_fd` (pci_virtio_sock.c
 * @3cb0d547) reads it with a single read() and closes the connection on a short read.
 */
export function encodeHyperkitHeader(cid: number, port: number): Buffer {
  checkVsockPort(cid, 'cid');
  checkVsockPort(port);
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  return Buffer.from(`${hex(cid)}.${hex(port)}\n`, 'latin1');
}

/**
 * Reads a Hyperkit connect header (for peers that stand in for Hyperkit): exactly 18 bytes,
 * `%08x.%08x\n`, either case of hex digits. Undefined for anything else.
 */
export function decodeHyperkitHeader(bytes: Uint8Array):
  | {
      /** The CID from the first eight hex digits. */
      readonly cid: number;
      /** The vsock port from the last eight hex digits. */
      readonly port: number;
    }
  | undefined {
  if (bytes.length !== HYPERKIT_HEADER_BYTES) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const match = /^([0-9a-fA-F]{8})\.([0-9a-fA-F]{8})\n$/.exec(text);
  if (!match) return undefined;
  return { cid: parseInt(match[1] as string, 16), port: parseInt(match[2] as string, 16) };
}
