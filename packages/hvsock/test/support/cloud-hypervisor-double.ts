import type { Socket } from 'node:net';
import { CONN_REQUEST_TIMEOUT_MS } from './firecracker-double';
import { HybridVmmDouble, parseRustU32, type CommandRead, type HybridVmmProfile } from './hybrid-muxer-double';

const BUF_SIZE = 32;
const PREFIX = 'connect ';

type Parse = { readonly port: number } | 'more' | 'invalid';

/**
 * `parse_port_from_read_command` (cloud-hypervisor @ae44c297,
 * virtio-devices/src/vsock/unix/muxer.rs:508-575) on the bytes read so far.
 */
function parseCommand(buf: Uint8Array): Parse {
  const newline = buf.indexOf(0x0a);
  if (buf.length < PREFIX.length) return newline >= 0 ? 'invalid' : 'more';
  const prefix = Buffer.from(buf.subarray(0, PREFIX.length)).toString('latin1');
  if (prefix.toLowerCase() !== PREFIX) return 'invalid';
  if (buf.length === BUF_SIZE && newline < 0) return 'invalid';
  if (newline < 0) return 'more';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(PREFIX.length, newline));
  } catch {
    return 'invalid';
  }
  const port = parseRustU32(text.trim());
  return port === undefined ? 'invalid' : { port };
}

/**
 * Cloud Hypervisor's `read_local_stream_port`: the command is kept in a 32-byte
 * `PartiallyReadCommand` and read one byte at a time as the non-blocking stream becomes
 * readable, so it may arrive in pieces (fix 48de8007, refactor d28d9eb3); EOF before the
 * newline drops the stream (issue #6798). Bytes after the newline are not consumed.
 */
export function readCloudHypervisorCommand(socket: Socket): Promise<CommandRead> {
  return new Promise((resolve) => {
    const buf = new Uint8Array(BUF_SIZE);
    let len = 0;
    const done = (r: CommandRead): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      for (let i = 0; i < chunk.length; i += 1) {
        buf[len] = chunk[i] as number;
        len += 1;
        const parsed = parseCommand(buf.subarray(0, len));
        if (parsed === 'more') continue;
        const raw = Buffer.from(buf.subarray(0, len));
        if (parsed === 'invalid') return done({ request: undefined, raw });
        return done({ request: { port: parsed.port, raw }, rest: Buffer.from(chunk.subarray(i + 1)) });
      }
    };
    const onEnd = (): void => done({ request: undefined, raw: Buffer.from(buf.subarray(0, len)) });
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/**
 * Cloud Hypervisor's hybrid vsock (cloud-hypervisor/cloud-hypervisor @ae44c297, docs/vsock.md,
 * "based on the Firecracker implementation"), with the half-close of 01593ad1 (2026-06-10,
 * csm/connection.rs:239-270, 724-741):
 * - the command as in `readCloudHypervisorCommand` (prefix compared with eq_ignore_ascii_case);
 * - `OK {local_port}\n` (:764), local ports in [2^30, 2^31) (:693);
 * - a host EOF sends SHUTDOWN SEND only: the guest reads EOF and can still send;
 * - a guest SHUTDOWN SEND becomes `shutdown(fd, SHUT_WR)` on the host stream once the TX
 *   buffer drained;
 * - guest → host connections go to `format!("{}_{}", host_sock_path, port)` (:718).
 */
export const CLOUD_HYPERVISOR_AE44C297: HybridVmmProfile = Object.freeze({
  name: 'Cloud Hypervisor @ae44c297 (half-close since 01593ad1)',
  readCommand: readCloudHypervisorCommand,
  ack: (localPort: number) => `OK ${localPort}\n`,
  eof: { hostEof: 'half-close' } as const,
  requestTimeoutMs: CONN_REQUEST_TIMEOUT_MS,
});

/** Starts a Cloud Hypervisor double listening on `udsPath` (`--vsock socket=`). */
export function startCloudHypervisorDouble(udsPath: string): Promise<HybridVmmDouble> {
  return HybridVmmDouble.start(CLOUD_HYPERVISOR_AE44C297, udsPath);
}
