import type { Socket } from 'node:net';
import { firstChunk, HybridVmmDouble, parseRustU32, type CommandRead, type HybridVmmProfile } from './hybrid-muxer-double';

/** Firecracker's CONN_REQUEST_TIMEOUT_MS (csm/mod.rs): how long the guest has to answer a REQUEST. */
export const CONN_REQUEST_TIMEOUT_MS = 2000;

/** `b"connect 0\n".len()`: what read_local_stream_port reads before going byte by byte. */
const MIN_READ_LEN = 10;
const COMMAND_BUF_LEN = 32;

/**
 * Firecracker's `read_local_stream_port` (firecracker-microvm/firecracker @81b38b9d,
 * src/vmm/src/devices/virtio/vsock/unix/muxer.rs:449-496), run once on the first readable event
 * of a non-blocking stream: `read_exact` of 10 bytes, then one byte at a time until `\n` or 32
 * bytes; any byte that is not there yet is a WouldBlock error and the stream is dropped. Then
 * UTF-8, split on whitespace, the first word lower-cased must be `connect`, the second a u32.
 * Bytes after the newline are not consumed. vhost-device-vsock @0a1b0aab reads it the same way.
 */
export async function readFirecrackerCommand(socket: Socket): Promise<CommandRead> {
  const chunk = await firstChunk(socket);
  if (chunk === undefined || chunk.length < MIN_READ_LEN) return { request: undefined, raw: chunk ?? Buffer.alloc(0) };
  let blen = MIN_READ_LEN;
  while (chunk[blen - 1] !== 0x0a && blen < COMMAND_BUF_LEN) {
    // read_exact of one more byte on a non-blocking stream: WouldBlock when it is not there.
    if (blen >= chunk.length) return { request: undefined, raw: chunk };
    blen += 1;
  }
  const raw = chunk.subarray(0, blen);
  const rest = chunk.subarray(blen);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { request: undefined, raw };
  }
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words[0]?.toLowerCase() !== 'connect') return { request: undefined, raw };
  const port = parseRustU32(words[1]);
  if (port === undefined) return { request: undefined, raw };
  return { request: { port, raw: Buffer.from(raw) }, rest: Buffer.from(rest) };
}

/**
 * Firecracker's hybrid vsock (firecracker-microvm/firecracker @81b38b9d, docs/vsock.md,
 * unix/muxer.rs, csm/connection.rs):
 * - `CONNECT <port>\n` parsed as in `readFirecrackerCommand`;
 * - when the guest accepts: `OK <local_port>\n` (muxer.rs:683), local ports round robin in
 *   [2^30, 2^31) (muxer.rs:110, 618);
 * - no guest listener, or a guest that refuses: the stream is closed with no message;
 * - a guest that does not answer within CONN_REQUEST_TIMEOUT_MS = 2000: the same;
 * - host EOF ⇒ SHUTDOWN RCV|SEND, a full close (csm/connection.rs ~222-234); a guest SHUT_WR is
 *   not relayed until the guest closes fully;
 * - guest → host connections go to `<uds>_<port>` (muxer.rs:638), RST when nothing listens.
 * Not modelled: MAX_CONNECTIONS (1023), snapshots, SEQPACKET.
 */
export const FIRECRACKER_81B38B9D: HybridVmmProfile = Object.freeze({
  name: 'Firecracker @81b38b9d',
  readCommand: readFirecrackerCommand,
  ack: (localPort: number) => `OK ${localPort}\n`,
  eof: { hostEof: 'full-close' } as const,
  requestTimeoutMs: CONN_REQUEST_TIMEOUT_MS,
});

/**
 * Firecracker before v0.19, i.e. before 1db04ccc ("devices/vsock: added connection handshake",
 * 2019-12-11): the same muxer without the `OK <port>\n` acknowledgement.
 */
export const FIRECRACKER_BEFORE_1DB04CCC: HybridVmmProfile = Object.freeze({
  ...FIRECRACKER_81B38B9D,
  name: 'Firecracker before 1db04ccc (v0.18)',
  ack: undefined,
});

/** Starts a Firecracker double listening on `udsPath` (Firecracker's `uds_path`). */
export function startFirecrackerDouble(udsPath: string, profile: HybridVmmProfile = FIRECRACKER_81B38B9D): Promise<HybridVmmDouble> {
  return HybridVmmDouble.start(profile, udsPath);
}
