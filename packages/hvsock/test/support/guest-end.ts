import type { Socket } from 'node:net';
import {
  createFlow,
  err,
  FlowError,
  fromDuplex,
  OK,
  type Flow,
  type FlowCapabilities,
  type FlowDriver,
  type InboundPort,
  type WriteResult,
} from '@flow/core';

/**
 * How a VMM's muxer relays end-of-stream between the host's Unix stream and the guest's vsock
 * socket (spec §2.13).
 */
export interface EofPolicy {
  /**
   * A 0-byte read on the host stream:
   * - `half-close`: the guest reads EOF and can still send (Cloud Hypervisor since 01593ad1,
   *   Hyperkit's SHUTDOWN_TX);
   * - `full-close`: SHUTDOWN RCV|SEND to the guest: it reads EOF and its writes fail with EPIPE;
   *   the VMM drops the host stream once the guest answered with RST, which it does when it
   *   has nothing left to read, or after CONN_SHUTDOWN_TIMEOUT_MS (Firecracker
   *   csm/connection.rs, vhost-device-vsock vsock_conn.rs).
   */
  readonly hostEof: 'half-close' | 'full-close';
}

/** Firecracker's CONN_SHUTDOWN_TIMEOUT_MS (csm/mod.rs). */
export const CONN_SHUTDOWN_TIMEOUT_MS = 2000;

/** The guest's socket, as the guest's flow contract sees it (what the muxer double hands out). */
const GUEST_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'close',
});

/**
 * The guest end of one muxed connection, as a flow. With `half-close` the muxer relays bytes
 * and EOFs 1:1, so the VMM's end of the host stream is itself the guest end (exact Unix-socket
 * semantics, as for Cloud Hypervisor ≥ 01593ad1 and Hyperkit). With `full-close` the flow is a
 * model of the guest kernel's socket behind Firecracker's connection state machine.
 */
export function guestEnd(host: Socket, policy: EofPolicy, label: string): Flow {
  if (policy.hostEof === 'half-close') return fromDuplex(host, { label, capabilities: GUEST_CAPABILITIES });
  return createFlow((port) => new FullCloseGuestDriver(host, port), {
    capabilities: {
      ...GUEST_CAPABILITIES,
      notes: ["Firecracker keeps a guest's SHUT_WR to itself (PeerClosed(false, true)) until the guest closes fully"],
    },
    label,
    // close() here is the guest's close(2): it sends SHUTDOWN RCV|SEND and does not wait for
    // the host, whose EOF Firecracker would never relay after the guest's own shutdown.
    closeWaitsForPeer: false,
  });
}

/**
 * The guest side of a Firecracker / vhost-device-vsock connection (csm/connection.rs):
 * - host data → guest reads; host EOF → state LocalClosed, SHUTDOWN RCV|SEND to the guest;
 * - guest writes → host stream, until LocalClosed (then they fail with EPIPE, as the guest
 *   kernel's send() does once the peer shut down its receive side);
 * - guest SHUT_WR → PeerClosed(false, true): nothing reaches the host;
 * - guest close → SHUTDOWN RCV|SEND → RST → the VMM drops the host stream (the host reads EOF);
 * - guest abort → RST → the same, at once.
 */
class FullCloseGuestDriver implements FlowDriver {
  private localClosed = false;
  private dropped = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: Socket,
    private readonly port: InboundPort,
  ) {
    host.allowHalfOpen = true;
    host.on('data', (chunk: Buffer) => port.push(chunk));
    host.on('end', () => this.onHostEof());
    host.on('error', () => {
      // The muxer kills the connection on a host stream error: the guest sees a reset.
      port.fail(new FlowError('reset', 'the VMM reset the connection (host stream error)', { code: 'ECONNRESET' }));
    });
    host.on('close', () => {
      if (this.killTimer) clearTimeout(this.killTimer);
      if (!this.localClosed && !this.dropped) {
        port.fail(new FlowError('reset', 'the VMM reset the connection (host stream closed)', { code: 'ECONNRESET' }));
      }
    });
  }

  private onHostEof(): void {
    this.localClosed = true;
    this.port.end();
    // The guest kernel answers SHUTDOWN RCV|SEND with an RST once nothing is left to read.
    this.killTimer = setTimeout(() => this.dropHost(), CONN_SHUTDOWN_TIMEOUT_MS);
    this.maybeDropHost();
  }

  private maybeDropHost(): void {
    if (this.localClosed && this.port.buffered === 0) this.dropHost();
  }

  /** The connection leaves the muxer: the host stream is closed (after what was queued for it). */
  private dropHost(): void {
    if (this.dropped) return;
    this.dropped = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    const h = this.host;
    if (h.destroyed) return;
    h.end(() => h.destroy());
  }

  write(chunks: readonly Uint8Array[]): Promise<WriteResult> | WriteResult {
    if (this.localClosed || this.dropped) {
      return err(new FlowError('closed', 'send: EPIPE (the VMM shut the connection down after the host closed its end)', { code: 'EPIPE' }));
    }
    return new Promise((resolve) => {
      let pending = chunks.length;
      let failed: FlowError | undefined;
      for (const chunk of chunks) {
        this.host.write(chunk, (e?: Error | null) => {
          if (e) failed ??= new FlowError('reset', `the host stream failed: ${e.message}`, { cause: e });
          pending -= 1;
          if (pending === 0) resolve(failed ? err(failed) : OK);
        });
      }
    });
  }

  async shutdownWrite(): Promise<WriteResult> {
    // PeerClosed(false, true): Firecracker records it and does nothing to the host stream.
    return OK;
  }

  consumed(): void {
    this.maybeDropHost();
  }

  pause(): void {
    this.host.pause();
  }

  resume(): void {
    this.host.resume();
  }

  abort(): void {
    this.dropped = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.host.destroy();
  }

  release(): void {
    this.dropHost();
  }
}
