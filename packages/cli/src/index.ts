/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/cli: the `flow` command's entry point and its endpoint registry.
export { run, mainHelp } from './run';
export { ExitCode } from './exit-codes';
export { UsageError, isUsageError } from './usage-error';
export { families, parseEndpoint, endpointHelp } from './endpoints/registry';
export type { ConnectOptions, Endpoint, EndpointFamily, EndpointListener, ListenHooks } from './endpoints/endpoint';
export type { Command } from './command';
export { defaultNinepWorkers } from './commands/ninep-serve';
