/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/conformance: re-exports only.
export { describeFlowConformance } from './describe-flow-conformance';
export type { ConformanceCheck, ConformanceOptions, FlowPair } from './options';
