import { readFirecrackerCommand, CONN_REQUEST_TIMEOUT_MS } from './firecracker-double';
import { HybridVmmDouble, type HybridVmmProfile } from './hybrid-muxer-double';

/**
 * rust-vmm vhost-device-vsock's Unix-socket backend (README @14d1b595, src/vsock_conn.rs
 * @0a1b0aab), "based on Firecracker's hybrid-vsock design":
 * - the connect command is read like Firecracker's (10 bytes, then byte by byte to `\n`);
 * - the acknowledgement is `format!("OK {}\n", self.peer_port)`: the **guest** port, not a
 *   host-side port;
 * - a host EOF becomes SHUTDOWN RCV|SEND (a full close), and a guest's shutdown reaches the
 *   host only as a full close.
 */
export const VHOST_DEVICE_VSOCK_0A1B0AAB: HybridVmmProfile = Object.freeze({
  name: 'vhost-device-vsock @0a1b0aab',
  readCommand: readFirecrackerCommand,
  ack: (_localPort: number, guestPort: number) => `OK ${guestPort}\n`,
  eof: { hostEof: 'full-close' } as const,
  requestTimeoutMs: CONN_REQUEST_TIMEOUT_MS,
});

/** Starts a vhost-device-vsock double listening on `udsPath` (its `--uds-path`). */
export function startVhostDeviceDouble(udsPath: string): Promise<HybridVmmDouble> {
  return HybridVmmDouble.start(VHOST_DEVICE_VSOCK_0A1B0AAB, udsPath);
}
