import { err, type FlowError, type Result } from '@flow/core';
import { vsockFromHyperv } from './address/hyperv';
import type { HvsockAddress } from './address/types';
import { parseAddress } from './address/uri';
import type { HvsockFlow } from './flow';
import { connectHybrid } from './hybrid/connect';
import { connectHyperkit } from './hyperkit/connect';
import { connectHyperv } from './hyperv/connect';
import { connectVsock } from './vsock/connect';

/** Options of `connect`; each transport uses the ones that apply to it. */
export interface ConnectOptions {
  /** Give up connecting (and, for hybrid vsock, waiting for the VMM's `OK`) after this long. */
  readonly timeoutMs?: number;
  /** Abandon the attempt when this aborts; the result is an `aborted` error. */
  readonly signal?: AbortSignal;
  /** The most bytes queued in each direction (the read buffer of Unix-socket transports). Default 256 KiB. */
  readonly bufferSize?: number;
  /** AF_VSOCK and Hyper-V: the most bytes per read or write system call. Default 64 KiB. */
  readonly messageSize?: number;
  /** AF_VSOCK and Hyper-V: how long `close()` waits for the peer by default. Default 30000 ms. */
  readonly closeTimeoutMs?: number;
  /** AF_VSOCK: the kernel's socket buffer (`SO_VM_SOCKETS_BUFFER_SIZE`). */
  readonly socketBufferSize?: number;
}

/**
 * Connects to any hypervisor socket, given as a URI or an address:
 * `vsock://3:1024` (Linux AF_VSOCK), `hybrid-vsock://:1024/run/fc.sock` (Firecracker, Cloud
 * Hypervisor: the VMM's Unix socket and the guest port), `hyperkit://:1024/path/to/vm`, or
 * `hvsock://<vm-guid>/<service>` (Hyper-V; on Linux, a service in the vsock template is the
 * AF_VSOCK port, as for a Linux guest on Hyper-V). Resolves with the flow or a typed error; a
 * malformed URI is an `invalid` error, never a throw.
 */
export async function connect(target: string | HvsockAddress, options: ConnectOptions = {}): Promise<Result<HvsockFlow, FlowError>> {
  let address: HvsockAddress;
  if (typeof target === 'string') {
    const parsed = parseAddress(target);
    if (!parsed.ok) return err(parsed.error);
    address = parsed.value;
  } else {
    address = target;
  }
  switch (address.kind) {
    case 'vsock':
      return connectVsock(address, options);
    case 'hybrid-vsock':
      return connectHybrid(address, { bufferSize: options.bufferSize, signal: options.signal, timeoutMs: options.timeoutMs });
    case 'hyperkit':
      return connectHyperkit(address, { bufferSize: options.bufferSize, signal: options.signal, timeoutMs: options.timeoutMs });
    case 'hvsock': {
      // A Linux guest on Hyper-V speaks AF_VSOCK (hv_sock): parent is the host, the service's
      // template GUID carries the port.
      const asVsock = process.platform === 'win32' ? undefined : vsockFromHyperv(address);
      if (asVsock) return connectVsock(asVsock, options);
      return connectHyperv(address, options);
    }
  }
}
