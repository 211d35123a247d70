import type { CloseOptions, Flow, WriteResult } from '@flow/core';
import type { HvsockAddress } from './address/types';
import { bufferedFlow } from './buffered-flow';
import { bufferedSocketCapabilities } from './capabilities';
import { AddressedFlow } from './flow';
import type { NonBlockingSocket } from './socket';

/** Options of every flow over a kernel hypervisor socket (AF_VSOCK, AF_HYPERV). */
export interface SocketFlowOptions {
  /** The most bytes per read or write system call. Default 64 KiB. */
  readonly messageSize?: number;
  /** The most bytes queued in each direction (read and not yet taken; accepted and not yet sent). Default 256 KiB. */
  readonly bufferSize?: number;
  /**
   * How long `close()` waits for the peer's end of stream when the call gives no `timeoutMs`;
   * then it aborts. A peer that is alive but never closes cannot hold a close forever.
   * Default 30000 ms; 0 waits without bound.
   */
  readonly closeTimeoutMs?: number;
}

/** Default `closeTimeoutMs`: 30000 ms for `close()` to wait for the peer before it aborts. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** A buffered flow over a kernel hypervisor socket, with its addresses and a bounded close. */
export class SocketFlow extends AddressedFlow {
  private readonly closeTimeoutMs: number;

  constructor(socket: NonBlockingSocket, remote: HvsockAddress, local: HvsockAddress | undefined, options: SocketFlowOptions, label: string) {
    const inner: Flow = bufferedFlow(socket, {
      messageSize: options.messageSize,
      bufferSize: options.bufferSize,
      label,
      capabilities: bufferedSocketCapabilities,
    });
    super(inner, remote, local);
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  }

  override close(options: CloseOptions = {}): Promise<WriteResult> {
    if (options.timeoutMs !== undefined || this.closeTimeoutMs === 0) return super.close(options);
    return super.close({ ...options, timeoutMs: this.closeTimeoutMs });
  }
}

/** Checks the size options (programmer errors throw). */
export function checkSocketFlowOptions(options: SocketFlowOptions): void {
  const { messageSize, bufferSize, closeTimeoutMs } = options;
  if (messageSize !== undefined && !(Number.isInteger(messageSize) && messageSize >= 1)) {
    throw new RangeError(`messageSize must be an integer >= 1, got ${String(messageSize)}`);
  }
  if (bufferSize !== undefined && !(Number.isInteger(bufferSize) && bufferSize >= 1)) {
    throw new RangeError(`bufferSize must be an integer >= 1, got ${String(bufferSize)}`);
  }
  if (closeTimeoutMs !== undefined && !(Number.isFinite(closeTimeoutMs) && closeTimeoutMs >= 0)) {
    throw new RangeError(`closeTimeoutMs must be a finite number >= 0, got ${String(closeTimeoutMs)}`);
  }
}
