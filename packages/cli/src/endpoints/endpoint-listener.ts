import type { Listener } from '@flow/core';
import type { EndpointListener } from './endpoint';

/**
 * A transport's listener as the commands see it: the same accept, close, iteration and dispose,
 * plus the printable `uri` the transport formatted from its bound address. Every family that
 * listens through a core `Listener` (tcp, unix, the hypervisor sockets) goes through here, so
 * that the commands meet one shape whatever the transport.
 */
export function endpointListener(uri: string, listener: Listener): EndpointListener {
  return {
    uri,
    address: listener.address,
    accept: (options) => listener.accept(options),
    close: () => listener.close(),
    get closedForAccept() {
      return listener.closedForAccept;
    },
    [Symbol.asyncIterator]: () => listener[Symbol.asyncIterator](),
    [Symbol.asyncDispose]: () => listener[Symbol.asyncDispose](),
  };
}
