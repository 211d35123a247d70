import type { FlowError } from '@flow/core';
import { canonicalGuid, HV_GUID_PARENT, HV_GUID_WILDCARD, MAX_SERVICE_PORT, servicePort } from '../address/guid';
import type { HypervAddress } from '../address/types';
import { formatAddress } from '../address/uri';
import { VMADDR_CID_ANY, VMADDR_CID_HOST } from '../address/vsock';
import { unsupportedError } from '../errors';

/**
 * The error for a Hyper-V socket off Windows, with the way a Linux guest on Hyper-V does the
 * same thing: AF_VSOCK over the `hv_sock` transport, where a port stands for the service id
 * `<port %08x>-facb-11e6-bd58-64006a7986d3` and the only peer is the host (gregkh/linux
 * `net/vmw_vsock/hyperv_transport.c`; ocaml-hvsock `lib/socket.ml` maps the same way).
 */
export function hypervUnsupportedError(address: HypervAddress, use: 'connect' | 'listen', platform: string): FlowError {
  const uri = formatAddress(address);
  const head = `Hyper-V sockets (AF_HYPERV, ${uri}) need Windows; this is ${platform}.`;
  const serviceId = canonicalGuid(address.serviceId);
  const port = servicePort(serviceId);
  if (port === undefined) {
    return unsupportedError(
      `${head} A Linux guest on Hyper-V speaks AF_VSOCK (hv_sock), where only service ids of the form <port %08x>-facb-11e6-bd58-64006a7986d3 have a port; ${serviceId} is not one, so it works only on Windows.`,
    );
  }
  const range = port > MAX_SERVICE_PORT ? ` (port ${port} is above 0x7fffffff, where Hyper-V keeps ports for itself)` : '';
  if (use === 'listen') {
    const vsock = formatAddress({ kind: 'vsock', cid: VMADDR_CID_ANY, port });
    return unsupportedError(`${head} A Linux guest on Hyper-V listens over AF_VSOCK (hv_sock) instead: ${vsock} for service ${serviceId}${range}.`);
  }
  const vsock = formatAddress({ kind: 'vsock', cid: VMADDR_CID_HOST, port });
  const vmId = canonicalGuid(address.vmId);
  const onlyHost = vmId === HV_GUID_PARENT || vmId === HV_GUID_WILDCARD ? '' : ` (hv_sock reaches only the host, so the VM id ${vmId} does not carry over)`;
  return unsupportedError(`${head} A Linux guest on Hyper-V connects to its host over AF_VSOCK (hv_sock) instead: ${vsock} for service ${serviceId}${range}${onlyHost}.`);
}
