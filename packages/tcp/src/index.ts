/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/tcp: re-exports only.
export { parseEndpoint, formatEndpoint, checkPort } from './endpoint';
export type { Endpoint, ConnectTarget, IpEndpoint, ListenTarget, UnixEndpoint } from './endpoint';
export { connect } from './connect';
export type { ConnectOptions } from './connect';
export { listen } from './listen';
export type { ListenOptions, TcpListener } from './listen';
export type { TcpFlow } from './tcp-flow';
export { socketCapabilities } from './tcp-flow';
export { keepaliveApplied, KEEPALIVE_NOTE } from './keepalive';
export type { Keepalive, KeepaliveApplied } from './keepalive';
export { keepaliveNext, KEEPALIVE_ALIVE } from './keepalive-state';
export type { KeepaliveAction, KeepaliveState } from './keepalive-state';
export { probeSocketFile } from './stale-socket';
export type { SocketFileState } from './stale-socket';
