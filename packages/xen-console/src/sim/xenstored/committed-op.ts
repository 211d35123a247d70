import type { XsPerm } from '../../xenstore/client-types';
import type { StoreOp } from './store-ops';
import type { TreeView } from './tree-view';

/** One change that reached the store, in commit order. */
export interface CommittedOp {
  /** 1, 2, 3, ... over the server's life. */
  readonly seq: number;
  /** What changed: a write, mkdir, rm or permission change. */
  readonly type: StoreOp['type'];
  /** The node it changed. */
  readonly path: string;
  /** The value written, for writes. */
  readonly value?: Buffer;
  /** The permissions set, for permission changes. */
  readonly perms?: readonly XsPerm[];
  /** The domain whose connection made the change (0 for the server's own API). */
  readonly domid: number;
  /** The transaction it was part of; 0 outside a transaction. */
  readonly txId: number;
  /** The connection that made it; 0 for the server's own API (introduceDomain, releaseDomain). */
  readonly connectionId: number;
}

/** What an `onCommit` observer sees: the operations that just became visible, and the store after them. */
export interface CommitEvent {
  /** The operations of this commit, in order. */
  readonly ops: readonly CommittedOp[];
  /** The transaction committed; 0 for a single operation outside one. */
  readonly txId: number;
  /** The store right after this commit. */
  readonly view: TreeView;
}
