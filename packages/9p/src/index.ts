/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/9p: re-exports only.
export * from './wire/constants';
export { SCHEMA, messageInDialect, messageTypeOf } from './wire/schema';
export type { FieldKind, FieldSpec, MessageSpec, MessageType } from './wire/schema';
export type { Dirent, Fields, KindValue, Message, MessageOf, Qid, Reply, Request, Stat } from './wire/types';
export { decode, decodeDirents, decodeStats, encode, encodeDirent, encodeStat, frameSize, peekHeader } from './wire/codec';
export { FrameReader } from './wire/frame-reader';
export type { FrameEvent } from './wire/frame-reader';
export { errnoName, fromFsException, fsError } from './fs/filesystem';
export type {
  AttachInfo,
  Attr,
  DirEntry,
  Filesystem,
  FsError,
  FsNode,
  FsResult,
  OpenFile,
  OpenIntent,
  SetAttr,
  StatFs,
  TimeSpec,
} from './fs/filesystem';
export { MIN_MSIZE, serve9p } from './server/serve9p';
export type { AuthHook, Serve9pOptions, SessionSummary } from './server/serve9p';
export { ConnectionPool } from './server/connection-pool';
export type { ConnectionPoolOptions, PoolMember, PoolSlot } from './server/connection-pool';
export { MemoryAccount, MemoryBudget } from './server/memory-budget';
export type { AuthState } from './server/fid-table';
export { defaultIdPolicy, exportDirectory } from './fs/host-export';
export type { ExportOptions, IdPolicy } from './fs/host-export';
export { Client9p, connect9p } from './client/client';
export type { Connect9pOptions, DirectoryEntry, FileStat, StreamStep, UntaggedRequest } from './client/client';
export { remoteError } from './client/errors';
export { fileFlowCapabilities, openFileFlow } from './client/file-flow';
export type { FileFlowOptions } from './client/file-flow';
export { FLOW_FILE_CAPABILITIES, flowFile } from './fs/flow-file';
export type { FlowFile, FlowFileOptions } from './fs/flow-file';
export {
  Vfs,
  Published,
  commandFile,
  memoryDir,
  memoryFile,
  nullFile,
  readOnlyFile,
  staticDir,
  statusFile,
  streamFile,
  zeroFile,
} from './fs/vfs';
export type { VfsDir, VfsFile, VfsInode, VfsSymlink } from './fs/vfs';
export { ctlTree } from './fs/ctl-tree';
export { routeAnames } from './fs/aname-router';
