import { connect, formatAddress, listen, parseAddress, type HvsockAddress } from '@flow/hvsock';
import { ok, type Flow, type FlowError, type Result } from '@flow/core';
import type { Endpoint, EndpointFamily, EndpointListener } from './endpoint';
import { endpointListener } from './endpoint-listener';

const ANY = 0xffffffff;

/** Why `address` cannot be dialled, or undefined when it can. */
function cannotConnect(address: HvsockAddress): string | undefined {
  if (address.kind === 'vsock' && address.cid === ANY) return 'connect needs a CID (any only works for listening), e.g. vsock://3:1024';
  if (address.kind === 'vsock' && address.port === ANY) return 'connect needs a port (any only works for listening), e.g. vsock://3:1024';
  return undefined;
}

/**
 * `vsock://CID:PORT` (Linux AF_VSOCK), `hybrid-vsock://:PORT/UDS` (Firecracker, Cloud
 * Hypervisor), `hyperkit://:PORT/DIR` and `hvsock://VM/SERVICE` (Hyper-V), from @flow/hvsock.
 */
export const hvsockFamily: EndpointFamily = {
  schemes: ['vsock', 'hybrid-vsock', 'hyperkit', 'hvsock'],
  help: [
    'vsock://CID:PORT            Linux AF_VSOCK, e.g. vsock://3:1024 (a guest), vsock://host:5000; listen: vsock://:5000',
    'hybrid-vsock://:PORT/UDS    Firecracker / Cloud Hypervisor: connect sends CONNECT PORT on the VMM socket UDS;',
    '                            listen binds UDS_PORT for the guest, e.g. hybrid-vsock://:52/run/fc/v.sock',
    'hyperkit://:PORT/DIR        Hyperkit virtio-sock in the VM directory DIR',
    'hvsock://VM/SERVICE         Hyper-V sockets (Windows); VM is a GUID or parent/children/loopback/wildcard',
  ],
  examples: {
    vsock: 'vsock://3:1024',
    'hybrid-vsock': 'hybrid-vsock://:52/run/fc/v.sock',
    hyperkit: 'hyperkit://:5000/path/to/vm',
    hvsock: 'hvsock://parent/1024',
  },
  parse(uri, scheme, role) {
    const parsed = parseAddress(uri);
    if (!parsed.ok) return { ok: false, error: parsed.error.message };
    const address = parsed.value;
    if (role === 'connect') {
      const why = cannotConnect(address);
      if (why) return { ok: false, error: why };
    }
    const endpoint: Endpoint = {
      uri,
      scheme,
      connect: (o): Promise<Result<Flow, FlowError>> => connect(address, { timeoutMs: o.timeoutMs, signal: o.signal }),
      listen: async (): Promise<Result<EndpointListener, FlowError>> => {
        const r = await listen(address);
        if (!r.ok) return r;
        return ok(endpointListener(formatAddress(r.value.address), r.value));
      },
    };
    return ok(endpoint);
  },
};
