/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/console: re-exports only.
export type { Console, ConsoleBackend } from './console';
export type { LineEnding } from './line-ending';
export { parseLineEnding } from './line-ending';
export { connect } from './connect';
export type { AnyConsole, ConnectOptions } from './connect';
export { parseConsoleName } from './console-name';
export type { ConsoleSpec, MemoryNameOptions, PtyNameOptions, SerialNameOptions, StdioNameOptions } from './console-name';
export { connectStdio } from './stdio';
export type { StdioConsole, StdioOptions } from './stdio';
export { connectPty } from './pty';
export type { PtyConsole, PtyExit, PtyOptions } from './pty';
export type { PtyModule, PtyProcess, PtySpawnOptions } from './pty-module';
export { connectSerial, serialSettings } from './serial';
export type { DataBits, Parity, SerialConsole, SerialOptions, SerialSettings, StopBits } from './serial';
export type { SerialBinding, SerialBindingPort, SerialOpenOptions } from './serial-module';
export { consolePair } from './memory';
export type { MemoryConsole, MemoryConsoleOptions } from './memory';
