// The address model: GUIDs, vsock and Hyper-V socket addresses, and their URIs.
export type { HvsockAddress, HybridVsockAddress, HyperkitAddress, HypervAddress, VsockAddress } from './types';
export {
  canonicalGuid,
  GUID_SIZE,
  guidFromBytes,
  guidToBytes,
  HV_GUID_BROADCAST,
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_SILOHOST,
  HV_GUID_VSOCK_TEMPLATE,
  HV_GUID_WILDCARD,
  HV_GUID_ZERO,
  isGuid,
  MAX_SERVICE_PORT,
  parseGuid,
  serviceIdForPort,
  servicePort,
  WELL_KNOWN_VM_IDS,
  wellKnownVmId,
  wellKnownVmIdName,
} from './guid';
export type { WellKnownVmIdName } from './guid';
export {
  AF_VSOCK,
  cidName,
  decodeSockaddrVm,
  encodeSockaddrVm,
  NAMED_CIDS,
  namedCid,
  SOCKADDR_VM_SIZE,
  sockaddrVmOf,
  U32_MAX,
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  VMADDR_CID_HYPERVISOR,
  VMADDR_CID_LOCAL,
  VMADDR_FLAG_TO_HOST,
  VMADDR_PORT_ANY,
  vsockAddressOf,
} from './vsock';
export type { CidName, SockaddrVm } from './vsock';
export {
  AF_HYPERV,
  decodeSockaddrHv,
  encodeSockaddrHv,
  HV_PROTOCOL_RAW,
  hypervAddressOf,
  hypervFromVsock,
  SOCKADDR_HV_SIZE,
  vsockFromHyperv,
} from './hyperv';
export type { SockaddrHv } from './hyperv';
export { dockerDesktopVmDir, formatAddress, parseAddress } from './uri';
export type { ParseAddressOptions } from './uri';
