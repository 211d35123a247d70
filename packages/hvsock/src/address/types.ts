/**
 * One address model for every hypervisor socket this package speaks. Each address has a URI
 * (`parseAddress` / `formatAddress` in `./uri`), and round-trips through it.
 */

/** Linux AF_VSOCK: a context id and a port, both u32. */
export interface VsockAddress {
  /** Tells a vsock address from the other kinds; its URI scheme is `vsock:`. */
  readonly kind: 'vsock';
  /** 0xffffffff = any (listen on every CID), 0 = hypervisor, 1 = local (loopback), 2 = host, >= 3 a guest. */
  readonly cid: number;
  /** 0xffffffff = any (the kernel picks one when binding). */
  readonly port: number;
  /** Sets `VMADDR_FLAG_TO_HOST` in `svm_flags` (nested VMs: send to the host, not a child). */
  readonly toHost?: boolean;
}

/**
 * Firecracker / Cloud Hypervisor / vhost-device-vsock hybrid vsock: a Unix socket on the host.
 * Connecting (host → guest) opens `path` and sends `CONNECT <port>\n`; listening (guest → host)
 * binds `<path>_<port>`.
 */
export interface HybridVsockAddress {
  /** Tells a hybrid-vsock address from the other kinds; its URI scheme is `hybrid-vsock:`. */
  readonly kind: 'hybrid-vsock';
  /** The VMM's Unix socket (`uds_path` in Firecracker, `socket=` in Cloud Hypervisor). */
  readonly path: string;
  /** The guest's vsock port (connect) or the port guests connect to (listen). */
  readonly port: number;
  /** Whether the client waits for `OK <n>\n`. `none` only for Firecracker before v0.19. Default `required`. */
  readonly ack?: 'required' | 'none';
  /** Handshake timeout in ms; default 5000 (the VMM gives the guest 2 s to accept). */
  readonly timeoutMs?: number;
}

/** Hyperkit's virtio-sock: a directory of Unix sockets on a macOS host. */
export interface HyperkitAddress {
  /** Tells a Hyperkit address from the other kinds; its URI scheme is `hyperkit:`. */
  readonly kind: 'hyperkit';
  /** The VM's socket directory (`path=` of `-s N,virtio-sock,...`). */
  readonly dir: string;
  /** The guest's vsock port (connect) or the port guests connect to on the host (listen), a u32. */
  readonly port: number;
  /** The guest's CID written in the connect header; default 3. */
  readonly cid?: number;
  /**
   * Set when the address came from the `hyperkit://docker:PORT` shortcut: `dir` is then Docker
   * Desktop's VM directory under the user's home (`dockerDesktopVmDir`), and the address
   * formats back to the shortcut.
   */
  readonly shortcut?: 'docker';
}

/** Hyper-V sockets (AF_HYPERV on Windows): a VM id and a service id, both GUIDs in canonical lowercase text. */
export interface HypervAddress {
  /** Tells a Hyper-V address from the other kinds; its URI scheme is `hvsock:`. */
  readonly kind: 'hvsock';
  /** A VM GUID or a well-known one (wildcard, children, loopback, parent, silohost, broadcast). */
  readonly vmId: string;
  /** A service GUID; `<port %08x>-facb-11e6-bd58-64006a7986d3` stands for a vsock port. */
  readonly serviceId: string;
}

/** Any hypervisor-socket address; narrow it on `kind`. */
export type HvsockAddress = VsockAddress | HybridVsockAddress | HyperkitAddress | HypervAddress;
