import type { StoreOp } from './store-ops';
import type { StoreNode } from './tree';

/**
 * An open transaction: a private copy of the store (the root it started from, updated by its
 * own changes), every path it looked at, and its changes, replayed on commit. It conflicts
 * (EAGAIN) when a node it looked at changed outside it since it began.
 */
export class SimTransaction {
  root: StoreNode;
  readonly accessed = new Set<string>();
  readonly ops: StoreOp[] = [];

  constructor(
    readonly id: number,
    readonly baseRoot: StoreNode,
  ) {
    this.root = baseRoot;
  }
}
