/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/hvsock: re-exports only.
export * from './address';
export { connect } from './connect';
export type { ConnectOptions } from './connect';
export { listen } from './listen';
export type { HvsockListener, ListenOptions } from './listen';
export { AddressedFlow, readExactlyInto } from './flow';
export type { ExactRead, HvsockFlow } from './flow';
export { bufferedFlow, DEFAULT_BUFFER_SIZE, DEFAULT_MESSAGE_SIZE } from './buffered-flow';
export type { BufferedFlowOptions } from './buffered-flow';
export { bufferedSocketCapabilities } from './capabilities';
export { DEFAULT_CLOSE_TIMEOUT_MS, SocketFlow } from './socket-flow';
export type { SocketFlowOptions } from './socket-flow';
export type { NonBlockingSocket } from './socket';
export { errnoError, errnoName } from './errors';
// Linux AF_VSOCK.
export { connectVsock } from './vsock/connect';
export type { VsockConnectOptions } from './vsock/connect';
export { listenVsock } from './vsock/listen';
export type { VsockListener, VsockListenOptions } from './vsock/listen';
export { localCid } from './vsock/local-cid';
export { loadVsockBinding, vsockBindingLocation } from './native/load';
export type { PollHandle, VsockBinding, VsockConstants } from './native/binding';
export type { AddonLocation, AddonOrigin } from './native/locate';
// Hybrid vsock (Firecracker, Cloud Hypervisor, vhost-device-vsock, Kata).
export { connectHybrid, DEFAULT_HYBRID_TIMEOUT_MS } from './hybrid/connect';
export type { HybridConnectOptions } from './hybrid/connect';
export { listenHybrid } from './hybrid/listen';
export type { HybridListenOptions, HybridVsockListener } from './hybrid/listen';
export type { HybridVsockFlow } from './hybrid/hybrid-flow';
export type { AckLineProblem, AckLineStep } from './hybrid/ack-line';
export { encodeConnectLine } from './hybrid/connect-line';
export { AckLineReader, MAX_ACK_LINE_BYTES, parseAckLine } from './hybrid/ack-line';
export { hybridListenPath } from './hybrid/paths';
export { HYBRID_VSOCK_CAPABILITIES } from './hybrid/capabilities';
// Hyperkit.
export { connectHyperkit, DEFAULT_HYPERKIT_TIMEOUT_MS } from './hyperkit/connect';
export type { HyperkitConnectOptions } from './hyperkit/connect';
export { listenHyperkit } from './hyperkit/listen';
export type { HyperkitListener, HyperkitListenOptions } from './hyperkit/listen';
export { decodeHyperkitHeader, DEFAULT_HYPERKIT_GUEST_CID, encodeHyperkitHeader, HYPERKIT_HEADER_BYTES } from './hyperkit/header';
export { dockerDesktopHyperkitDir, hyperkitConnectPath, hyperkitListenPath } from './hyperkit/paths';
export { HYPERKIT_CAPABILITIES } from './hyperkit/capabilities';
// What the Unix-socket transports share.
export type { UnixListenOptions, UnixSocketListener } from './unix/listener';
export { checkSocketPath, maxSocketPathBytes, sunPathBytes } from './unix/path-limit';
export { probeSocketFile } from './unix/stale-socket';
export type { SocketFileState } from './unix/stale-socket';
// Hyper-V (AF_HYPERV, Windows).
export { connectHyperv, connectHypervOn, HVSOCKET_CONNECT_TIMEOUT_MAX } from './hyperv/connect';
export type { HypervConnectOptions } from './hyperv/connect';
export { listenHyperv, listenHypervOn } from './hyperv/listen';
export type { HypervHost } from './hyperv/host';
export { loadHypervBinding } from './hyperv/load';
export type { HypervAcceptCallback, HypervBinding, HypervConstants, HypervSocketHandle } from './hyperv/binding';
export { GUEST_COMMUNICATION_SERVICES_KEY, registerServiceCommand, vmIdLookupCommand } from './hyperv/powershell';
export { WINDOWS_ERRORS, windowsError, windowsSocketError } from './hyperv/wsa-errors';
export type { WindowsErrorInfo } from './hyperv/wsa-errors';
export type { HypervListener, HypervListenOptions } from './hyperv/listen';
