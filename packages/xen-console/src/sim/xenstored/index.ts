// The simulated xenstored: re-exports only (for the package's ./sim barrel).
export { SimXenstored } from './server';
export type { IntroduceOptions, SimConnectionInfo, SimXenstoredOptions, SimXenstoredStats } from './server';
export type { SimXenstoredListener, UnixListenOptions } from './socket-listener';
export type { SimConnectionKind } from './connection';
export type { CommitEvent, CommittedOp } from './committed-op';
export { TreeView } from './tree-view';
export { DEFAULT_QUOTA } from './quota';
export type { XenstoredQuota } from './quota';
