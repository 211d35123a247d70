/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The Xen simulator (the '@flow/xen-console/sim' subpath): a hypervisor with grant tables and
// event channels on shared memory, a xenstored, and guests in this thread or in workers.
export { SimXen, attachSimPlatform, simPlatform } from './sim-xen';
export type { ExportedSimPlatform, SimXenOptions } from './sim-xen';
export * from './xenstored';
export { SimHypervisor } from './hypervisor';
export type { SimAccounting, SimHypervisorOptions } from './hypervisor';
export { FIRST_GRANT_REF, SimGrantTable } from './grant-table';
export type { SimGrantTableOptions } from './grant-table';
export { SimEventChannels } from './event-channels';
export type { EventCounters, EventFault, EventFaults, EventSend, PortStatus, SimEventChannelsOptions } from './event-channels';
export { SimEvtPort } from './sim-evt-port';
export { LocalSimDomain } from './sim-domain';
export type { SimDomain, SimGrant } from './sim-domain';
export { attachSimDomain, RemoteSimDomain } from './remote-domain';
export type { SerializedError, SimDomainDescriptor } from './domain-rpc';
export { PlainPage } from './plain-page';
export { SabPage } from './sab-page';
export type { PageOptions } from './page-access';
export { EventArea } from './event-area';
export { portDuplex } from './port-duplex';
export { SimGuest, startSimGuest } from './guest-runner';
export type { SimGuestConsole, SimGuestOptions } from './guest-runner';
export type { GuestBehaviour, GuestBehaviourKind, GuestTransfer, SimGuestReport, SimGuestStatus } from './guest-messages';
export { WriteStamps } from './guest-write-stamps';
export { LineDiscipline } from './guest-line-discipline';
export { sourceBytes } from './guest-behaviours';
