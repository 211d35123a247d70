// The public face of @flow/conformance: re-exports only.
export { describeFlowConformance } from './describe-flow-conformance';
export type { ConformanceCheck, ConformanceOptions, FlowPair } from './options';
