/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// @flow/xen-console/xenstore: the xenstore wire codec and client. Re-exports only.
export type { TransactionOptions, WaitOptions, XsClient, XsOps, XsPerm, XsWatch } from './client-types';
export { RETRY } from './retry';
export type { XsRetry } from './retry';
export { XenstoreClient } from './client';
export type { XenstoreClientOptions, XenstoreClientStats } from './client';
export {
  connectXenstore,
  openXenbusDevice,
  xenstoreOverDuplex,
  xenstoreOverFlow,
  xenstoredSocketPath,
  xenbusDevicePath,
  DEFAULT_XENSTORED_RUNDIR,
  XENBUS_DEVICE_PATHS,
} from './connect';
export type { ConnectXenstoreOptions } from './connect';
export { XsType, XS_TYPE_COUNT_4_17, XS_TYPE_COUNT_MASTER, xsTypeName, describeXsType } from './message-types';
export type { XsTypeCode, XsTypeName } from './message-types';
export { XS_HEADER_SIZE, XENSTORE_PAYLOAD_MAX, XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, domainPath } from './limits';
export { encodeFrame, decodeHeader } from './frame';
export type { XsFrame } from './frame';
export { FrameDecoder } from './frame-decoder';
export type { FrameDecoderOptions } from './frame-decoder';
export {
  encodeRequestPayload,
  decodeRequestPayload,
  encodeReplyPayload,
  decodeReplyPayload,
  requestTypeCode,
  replyTypeCode,
  isAckType,
  parseDecimal,
} from './payload';
export type { XsAckType, XsReply, XsRequest, XsRequestType } from './payload';
export { XS_ERRORS, XS_EXTRA_ERRORS, xsError, xsErrorKind, parseErrorPayload, encodeErrorPayload } from './errors';
export type { XsErrorCode } from './errors';
export {
  checkPath,
  isSpecialPath,
  isPathWithin,
  parentPath,
  pathSegments,
  segmentsToPath,
  joinPath,
  SPECIAL_PATHS,
} from './path';
export type { PathCheckOptions, SpecialPath } from './path';
export { formatPerm, parsePerm, checkPerms, accessAllows } from './perms';
export { WatchEventQueue } from './watch-queue';
export { tracingOps } from './wait';
