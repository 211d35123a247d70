import type { FlowCapabilities } from '@flow/core';

/**
 * What a buffered flow over a kernel socket (AF_VSOCK, AF_HYPERV) does: `shutdownWrite` is a
 * real SHUT_WR after the queue is flushed; `shutdownRead` keeps reading and drops what comes, so
 * the peer is never stuck on a full buffer; `abort` closes the socket, which the peer sees as an
 * end of stream (or a reset when it had unread data), since vsock has no linger-0 reset.
 */
export const bufferedSocketCapabilities: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    'shutdownRead is emulated: bytes still arrive and are dropped',
    'abort closes the socket: the peer sees an end of stream, or a reset when it had unread data',
  ]),
});
