import { err, ok, type AcceptOptions, type FlowError, type Listener, type Result } from '@flow/core';
import { vsockFromHyperv } from './address/hyperv';
import type { HvsockAddress } from './address/types';
import { parseAddress } from './address/uri';
import type { HvsockFlow } from './flow';
import { listenHybrid } from './hybrid/listen';
import { listenHyperkit } from './hyperkit/listen';
import { listenHyperv } from './hyperv/listen';
import { listenVsock } from './vsock/listen';

/** Options of `listen`; each transport uses the ones that apply to it. */
export interface ListenOptions {
  /** The kernel's accept backlog, and the flows queued for `accept()`. */
  readonly backlog?: number;
  /** Most live flows from the listener at once; connections beyond it are closed at once. Default 10000. */
  readonly maxConnections?: number;
  /** The most bytes queued in each direction per flow. Default 256 KiB. */
  readonly bufferSize?: number;
  /** AF_VSOCK and Hyper-V: the most bytes per read or write system call. Default 64 KiB. */
  readonly messageSize?: number;
  /** AF_VSOCK and Hyper-V: how long `close()` waits for the peer by default. Default 30000 ms. */
  readonly closeTimeoutMs?: number;
  /** AF_VSOCK: the kernel's socket buffer of every accepted flow. */
  readonly socketBufferSize?: number;
  /** Unix-socket transports: permissions of the socket file, e.g. 0o600. */
  readonly mode?: number;
  /** Unix-socket transports: remove a socket file nobody listens on before binding. Default true. */
  readonly unlinkStale?: boolean;
}

/** A listener of any hypervisor-socket transport, with the core `Listener` shape. */
export interface HvsockListener extends Listener<HvsockAddress, HvsockFlow> {
  /** Live flows that came from this listener (accepted or still queued). */
  readonly connections: number;
  accept(options?: AcceptOptions): Promise<Result<HvsockFlow, FlowError>>;
  /**
   * `for await (const flow of listener)`: each accepted flow in turn. The loop ends, without
   * throwing, at the first `accept` that fails: after `close`, or when the listener failed.
   */
  [Symbol.asyncIterator](): AsyncIterator<HvsockFlow>;
  /** Stop accepting; live flows are untouched. */
  close(): Promise<void>;
  /** Stop accepting and end every live flow: a close handshake of `timeoutMs`, or abort at once without it. */
  closeAll(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `await using`: the same as `close` (live flows are untouched), never rejecting. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Listens on any hypervisor socket: `vsock://:5000` (every CID of this Linux machine; `vsock://:*`
 * lets the kernel pick the port), `hybrid-vsock://:5000/run/fc.sock` (guest → host connections
 * through Firecracker or Cloud Hypervisor arrive at `/run/fc.sock_5000`),
 * `hyperkit://:5000/path/to/vm` (`00000002.00001388` in that directory), `hvsock:///<service>`
 * (Hyper-V; on Linux a template service is the AF_VSOCK port). Resolves with the listener or a
 * typed error; a malformed URI is an `invalid` error, never a throw.
 */
export async function listen(target: string | HvsockAddress, options: ListenOptions = {}): Promise<Result<HvsockListener, FlowError>> {
  let address: HvsockAddress;
  if (typeof target === 'string') {
    const parsed = parseAddress(target);
    if (!parsed.ok) return err(parsed.error);
    address = parsed.value;
  } else {
    address = target;
  }
  const unix = { bufferSize: options.bufferSize, backlog: options.backlog, maxConnections: options.maxConnections, mode: options.mode, unlinkStale: options.unlinkStale };
  let r: Result<HvsockListener, FlowError>;
  switch (address.kind) {
    case 'vsock':
      r = await listenVsock(address, options);
      break;
    case 'hybrid-vsock':
      r = await listenHybrid(address, unix);
      break;
    case 'hyperkit':
      r = await listenHyperkit(address, unix);
      break;
    case 'hvsock': {
      const asVsock = process.platform === 'win32' ? undefined : vsockFromHyperv(address);
      r = asVsock ? await listenVsock(asVsock, options) : await listenHyperv(address, options);
      break;
    }
  }
  return r.ok ? ok(r.value) : r;
}
