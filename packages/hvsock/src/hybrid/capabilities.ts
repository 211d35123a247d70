import type { FlowCapabilities } from '@flow/core';

/**
 * What a hybrid-vsock flow really does. Our side half-closes for real (`shutdown(SHUT_WR)` on the
 * Unix socket), but what the guest sees depends on the VMM in between (spec §2.13), and the flow
 * cannot tell which VMM it talks to.
 */
export const HYBRID_VSOCK_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    'shutdownWrite is a real SHUT_WR on the Unix socket, but the VMM decides what the guest sees:',
    'Firecracker (csm/connection.rs) and vhost-device-vsock (vsock_conn.rs) turn the EOF into a full close (SHUTDOWN RCV|SEND): the guest can no longer send, and we then read EOF',
    'Cloud Hypervisor since 01593ad1 (2026-06) half-closes: the guest reads EOF and can still send',
    "a guest's shutdown(SHUT_WR) reaches us as EOF on Cloud Hypervisor (after its buffer drained); Firecracker and vhost-device-vsock show nothing until the guest closes fully",
    'shutdownRead is emulated: libuv has no SHUT_RD, so bytes still arrive and are dropped',
    'abort closes the socket: Unix sockets have no RST; the VMM resets the guest connection',
  ]),
});
