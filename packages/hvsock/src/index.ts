// The public face of @flow/hvsock: re-exports only.
export type { HvsockAddress, HybridVsockAddress, HyperkitAddress, HypervAddress, VsockAddress } from './address/types';
export { AddressedFlow, readExactlyInto } from './flow';
export type { ExactRead, HvsockFlow } from './flow';
export { errnoError, errnoName } from './errors';
export type { NonBlockingSocket } from './socket';
