/// <reference types="node" preserve="true" />
// The Node types are part of this package's API (Buffer, sockets, streams): consumers on TypeScript 6
// and later, where `types` no longer defaults to every installed @types package, need them pulled in.
// The public face of @flow/xen-console: re-exports only. The xenstore client is also at
// '@flow/xen-console/xenstore' and the simulator at '@flow/xen-console/sim'.
export { connectConsole, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './backend/connect';
export type { ConnectOptions } from './backend/connect';
export { consoleNodes, createConsole, DEFAULT_LIMIT, destroyConsole, forceClose, requestClose } from './backend/create';
export type { ConsoleNode, CreateOptions } from './backend/create';
export { XenConsoleFlow } from './backend/xen-console-flow';
export type { XenConsoleInfo } from './backend/xen-console-flow';
export type { ConsolePolicy, ConsoleStats, OverflowPolicy } from './backend/console-driver';
export { DEFAULT_EVENTS_PER_PERIOD, DEFAULT_PERIOD_MS, EventRateLimiter } from './backend/rate-limit';
export type { RateLimitOptions } from './backend/rate-limit';
export { DiscardMiddleBuffer } from './backend/discard-middle';
export { watchConsoles } from './backend/watch-consoles';
export type { ConsoleEntry, WatchConsolesOptions } from './backend/watch-consoles';
export { backendPath, checkDevid, checkDomid, frontendPath, XenbusState } from './backend/paths';
export { parseState, parseU32, printable } from './backend/strict-parse';
export { connectFrontend } from './frontend/connect-frontend';
export type { FrontendConsole, FrontendOptions } from './frontend/connect-frontend';
export type { EvtPort, XenPlatform } from './platform/types';
export { LinuxPlatform } from './platform/linux-platform';
export type { LinuxPlatformOptions } from './platform/linux-platform';
export { NativePage } from './platform/native-page';
export type { NativePageOptions } from './platform/native-page';
export { loadXenBinding, xenBindingLocation } from './platform/native-load';
export type { AddonLocation, AddonOrigin } from './platform/native-locate';
export type { MappedPage, RingMemory } from './ring/memory';
export { CONSOLE_LAYOUT } from './ring/layout';
export { BackendRing } from './ring/backend-ring';
export type { BackendRingStart } from './ring/backend-ring';
export { FrontendRing } from './ring/frontend-ring';
export type { FrontendRingStart } from './ring/frontend-ring';
export type { RingCorruption } from './ring/ring-corruption';
export { readConsoleIndices, resetConsolePage } from './ring/console-page';
export type { ConsoleIndices } from './ring/console-page';
export { ringAdvance, ringDistance } from './ring/ring-index';
export { IN_HALF, OUT_HALF } from './ring/ring-half';
export type { ConsoleIndexName, RingHalf } from './ring/ring-half';
export type { RingLevel, RingReadResult } from './ring/ring-consumer';
export type { RingWriteResult } from './ring/ring-producer';
export type { TransactionOptions, WaitOptions, XsClient, XsOps, XsPerm, XsWatch } from './xenstore/client-types';
export { RETRY } from './xenstore/retry';
export type { XsRetry } from './xenstore/retry';
export { connectXenstore, XenstoreClient } from './xenstore';
export type { ConnectXenstoreOptions, XenstoreClientOptions, XenstoreClientStats, XsAckType, XsReply, XsRequest } from './xenstore';
export type { RequestSender } from './xenstore/ops';
