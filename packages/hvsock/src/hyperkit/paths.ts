import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkVsockPort } from '../hybrid/connect-line';

/** The host CID, as Hyperkit writes it in the names of guest → host sockets. */
const HOST_CID = 2;

/** Where host → guest connections go: Hyperkit's `<dir>/connect` (CONNECT_SOCKET_NAME). */
export function hyperkitConnectPath(dir: string): string {
  return join(dir, 'connect');
}

/**
 * Where Hyperkit connects when a guest dials host port `port`: `<dir>/00000002.<port %08x>`
 * (pci_virtio_sock.c: `PRI_ADDR_PREFIX "%08x.%08x"` of the destination CID and port).
 */
export function hyperkitListenPath(dir: string, port: number): string {
  checkVsockPort(port);
  return join(dir, `${HOST_CID.toString(16).padStart(8, '0')}.${port.toString(16).padStart(8, '0')}`);
}

/**
 * Docker Desktop for Mac's Hyperkit VM directory (the `docker` shortcut of linuxkit/virtsock's
 * `SocketMode`): `~/Library/Containers/com.docker.docker/Data/vms/0`. Newer Docker Desktop runs
 * on Apple's Virtualization framework, which has no such directory.
 */
export function dockerDesktopHyperkitDir(home: string = homedir()): string {
  return join(home, 'Library', 'Containers', 'com.docker.docker', 'Data', 'vms', '0');
}
