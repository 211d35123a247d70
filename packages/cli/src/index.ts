// The public face of @flow/cli: the `flow` command's entry point and its endpoint registry.
export { run, mainHelp } from './run';
export { ExitCode } from './exit-codes';
export { UsageError, isUsageError } from './usage-error';
export { families, parseEndpoint, endpointHelp } from './endpoints/registry';
export type { ConnectOptions, Endpoint, EndpointFamily, EndpointListener } from './endpoints/endpoint';
export type { Command } from './command';
