import { checkVsockPort } from './connect-line';

/**
 * Where a hybrid-vsock VMM connects when a guest dials host port `port`: `<uds>_<port>`, the
 * port in decimal (Firecracker muxer.rs, Cloud Hypervisor muxer.rs, vhost-device-vsock README).
 */
export function hybridListenPath(udsPath: string, port: number): string {
  checkVsockPort(port);
  return `${udsPath}_${port}`;
}
