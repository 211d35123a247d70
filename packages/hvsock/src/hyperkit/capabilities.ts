import type { FlowCapabilities } from '@flow/core';

/** What a Hyperkit flow really does (pci_virtio_sock.c @3cb0d547; spec §2.7, §2.13). */
export const HYPERKIT_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    'shutdownWrite is a real SHUT_WR on the Unix socket; Hyperkit turns the EOF into SHUTDOWN_TX, so the guest reads EOF and can still send',
    "a guest's shutdown reaches us as EOF once Hyperkit drained its buffer (SHUT_WR deferred, moby/hyperkit#62)",
    'there is no acknowledgement: connectHyperkit succeeds as soon as the header is sent; a missing guest listener shows as EOF on the first read',
    'shutdownRead is emulated: libuv has no SHUT_RD, so bytes still arrive and are dropped',
    'abort closes the socket: Unix sockets have no RST; Hyperkit resets the guest connection',
  ]),
});
