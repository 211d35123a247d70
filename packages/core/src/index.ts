/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/core: re-exports only.
export { DISPOSE_TIMEOUT_MS, EOF, isEOF } from './flow';
export type {
  CloseOptions,
  Flow,
  FlowCapabilities,
  FlowState,
  ReadIntoResult,
  ReadOptions,
  ReadResult,
  ReadState,
  ShutdownOptions,
  WriteOptions,
  WriteResult,
  WriteState,
} from './flow';
export { ok, err, OK, unwrap } from './result';
export { readAll, READ_ALL_DEFAULT_MAX_BYTES } from './read-all';
export type { ReadAllOptions } from './read-all';
export { writeString } from './write-string';
export type { Ok, Err, Result } from './result';
export {
  FlowError,
  flowError,
  isFlowError,
  closedError,
  abortedError,
  timeoutError,
  fromNodeError,
  formatError,
} from './errors';
export type { FlowErrorKind, FlowErrorOptions } from './errors';
export { StatsRecorder, formatStats, formatBytes, rate, now } from './stats';
export type { FlowStats } from './stats';
export { createFlow } from './driver-flow';
export { FlowWrapper } from './flow-wrapper';
export type { DescriptorLending, FlowDriver, InboundPort, CreateFlowOptions } from './driver-flow';
export { deferred, raceSignal, raceTimeout, sleep } from './deferred';
export type { Deferred } from './deferred';
export { copy } from './copy';
export { syncIoOf } from './sync-io';
export type { SyncIo } from './sync-io';
export type { CopyOptions, CopyOutcome, CopyResult } from './copy';
export { installCopyAccelerator, installedCopyAccelerator } from './accelerator';
export type { AcceleratedCopy, AcceleratedCopyEnd, AcceleratedCopyOptions, CopyAccelerator } from './accelerator';
export { installSocketErrorReader, installedSocketErrorReader } from './socket-error-reader';
export type { SocketErrorReader } from './socket-error-reader';
export { DESCRIPTOR_LENDER, descriptorLenderOf, SOURCE_ENDED } from './descriptor-loan';
export type { DescriptorLender, LoanReport, ReadLoan, WriteLoan } from './descriptor-loan';
export { proxy } from './proxy';
export type { DirectionResult, ProxyErrorPolicy, ProxyOptions, ProxyResult } from './proxy';
export { AcceptQueue, disposeListener, endFlows } from './listener';
export type { AcceptOptions, Listener } from './listener';
export { BusyPoll, busyPollDefault, DEFAULT_BUSY_POLL_MICROS, FIRST_EPOCH_REPLIES, MAX_EPOCH_REPLIES, MIN_GAIN_MICROS, TRIAL_REPLIES } from './busy-poll';
export type { BusyPollOptions, BusyPollStats } from './busy-poll';
export { serve } from './serve';
export type { Server, ServeOptions, ServeSummary } from './serve';
export { pair } from './memory/pair';
export type { FaultOptions, PairOptions } from './memory/pair';
export { functionFlow } from './memory/function-flow';
export type { FunctionFlowOptions, Refill } from './memory/function-flow';
export { fromChunks, sink } from './memory/chunks';
export type { ChunkSource } from './memory/chunks';
export type { Sink, SinkOptions } from './memory/chunks';
export { memoryListener } from './memory/listener';
export type { MemoryNetwork } from './memory/listener';
export { fromDuplex } from './adapters/from-duplex';
export { DirectReads, withDirectReads, directReadOwnBuffers, DIRECT_READ_BUFFER_SIZE, DIRECT_READ_BULK_MIN, DIRECT_READ_MAX_OWN_BUFFERS } from './adapters/direct-reads';
export type { DirectReadOptions } from './adapters/direct-reads';
export type { FromDuplexOptions } from './adapters/from-duplex';
export { BufferedReader, isEarlyEof } from './buffered/reader';
export type {
  BufferedReaderOptions,
  DetachedReader,
  EarlyEof,
  ExactlyResult,
  LineBytesResult,
  LineOptions,
  LineResult,
  LineStringOptions,
  SomeResult,
} from './buffered/reader';
export { BufferedWriter } from './buffered/writer';
export type { BufferedWriterOptions, WriterCloseResult } from './buffered/writer';
export { toDuplex } from './adapters/to-duplex';
export type { ToDuplexOptions } from './adapters/to-duplex';
export { toWebStreams, fromWebStreams } from './adapters/web-streams';
export type { FromWebStreamsOptions, ToWebStreamsOptions, WebStreamPair } from './adapters/web-streams';
export { readChunks } from './adapters/read-chunks';
export type { ChunkIterable, ReadChunksEnd } from './adapters/read-chunks';
