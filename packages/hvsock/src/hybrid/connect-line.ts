/** The largest vsock port: ports are u32. */
export const MAX_VSOCK_PORT = 0xffffffff;

/** Throws unless `port` is an integer in [0, 2^32). */
export function checkVsockPort(port: number, what = 'port'): void {
  if (!(Number.isInteger(port) && port >= 0 && port <= MAX_VSOCK_PORT)) {
    throw new RangeError(`${what} must be an integer from 0 to ${MAX_VSOCK_PORT}, got ${String(port)}`);
  }
}

/**
 * The hybrid-vsock connect request, `CONNECT <port>\n` with the port in decimal, as one buffer:
 * it must go out in one write, because Firecracker reads it from a non-blocking socket right
 * after the first readable event (muxer.rs `read_local_stream_port`) and drops the connection
 * when part of it is missing. Upper case works with every VMM (Firecracker, vhost-device and
 * newer Cloud Hypervisor compare case-insensitively; older Cloud Hypervisor accepts exactly
 * `connect ` or `CONNECT `).
 */
export function encodeConnectLine(port: number): Buffer {
  checkVsockPort(port);
  return Buffer.from(`CONNECT ${port}\n`, 'latin1');
}
