import type { XsPerm } from '../../xenstore/client-types';
import type { XsErrorCode } from '../../xenstore/errors';
import type { Caller } from './access';
import type { CommitEvent, CommittedOp } from './committed-op';
import type { XenstoredQuota } from './quota';
import { applyOp, getPermsOf, listChildren, readValue, type FireEvent, type OpContext, type OpOutcome, type StoreOp } from './store-ops';
import { SimTransaction } from './transaction';
import { newNode, stampAt, type StoreNode } from './tree';
import { TreeView } from './tree-view';

/** Who made a change, for the record. */
export interface Author {
  readonly domid: number;
  readonly connectionId: number;
}

export type Applied = { readonly ok: true; readonly fires: readonly FireEvent[] } | { readonly ok: false; readonly code: XsErrorCode };

const ROOT_PERMS: readonly XsPerm[] = Object.freeze([{ access: 'n', domid: 0 } as const]);

/**
 * The committed state of the simulated store, with the record of every committed change and
 * the observers that see the store between any two commits.
 */
export class SimStore {
  private root: StoreNode;
  private stamp = 0;
  private seq = 0;
  private readonly record: CommittedOp[] = [];
  private readonly observers = new Set<(event: CommitEvent) => void>();
  private conflictsToInject = 0;
  /** What observers threw (they must not break the server; tests look here). */
  readonly observerErrors: unknown[] = [];
  readonly nextStamp = (): number => {
    this.stamp += 1;
    return this.stamp;
  };

  constructor(private readonly recordLimit: number) {
    // The tree xenstored and the toolstack's dom0 set-up start with: /, /local, /local/domain,
    // /local/domain/0, all owned by dom0 and closed to everyone else.
    const dom0 = newNode(Buffer.alloc(0), ROOT_PERMS, this.nextStamp());
    const domain = { ...newNode(Buffer.alloc(0), ROOT_PERMS, this.nextStamp()), children: new Map([['0', dom0]]) };
    const local = { ...newNode(Buffer.alloc(0), ROOT_PERMS, this.nextStamp()), children: new Map([['domain', domain]]) };
    this.root = { ...newNode(Buffer.alloc(0), ROOT_PERMS, this.nextStamp()), children: new Map([['local', local]]) };
  }

  get current(): StoreNode {
    return this.root;
  }

  view(): TreeView {
    return new TreeView(this.root);
  }

  get committed(): readonly CommittedOp[] {
    return this.record;
  }

  clearRecord(): void {
    this.record.length = 0;
  }

  onCommit(listener: (event: CommitEvent) => void): () => void {
    this.observers.add(listener);
    return () => {
      this.observers.delete(listener);
    };
  }

  /** The next `count` commits fail with EAGAIN, whatever they touched (fault injection). */
  injectConflicts(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be an integer >= 0');
    this.conflictsToInject = count;
  }

  private context(caller: Caller, quota: XenstoredQuota, tx?: SimTransaction): OpContext {
    return { root: tx ? tx.root : this.root, caller, quota, nextStamp: this.nextStamp, accessed: tx?.accessed };
  }

  read(caller: Caller, quota: XenstoredQuota, path: string, tx?: SimTransaction): OpOutcome<Buffer> {
    return readValue(this.context(caller, quota, tx), path);
  }

  directory(caller: Caller, quota: XenstoredQuota, path: string, tx?: SimTransaction): OpOutcome<{ children: string[]; stamp: number }> {
    return listChildren(this.context(caller, quota, tx), path);
  }

  getPerms(caller: Caller, quota: XenstoredQuota, path: string, tx?: SimTransaction): OpOutcome<readonly XsPerm[]> {
    return getPermsOf(this.context(caller, quota, tx), path);
  }

  /** Runs a change outside any transaction: it is committed at once. */
  apply(caller: Caller, quota: XenstoredQuota, op: StoreOp, author: Author): Applied {
    const r = applyOp(this.context(caller, quota), op);
    if (!r.ok) return r;
    if (!r.root) return { ok: true, fires: [] };
    this.commit(r.root, [op], author, 0);
    return { ok: true, fires: r.fires ?? [] };
  }

  begin(id: number): SimTransaction {
    return new SimTransaction(id, this.root);
  }

  /** Runs a change inside `tx`: only the transaction's copy sees it until commit. */
  applyInTransaction(caller: Caller, quota: XenstoredQuota, op: StoreOp, tx: SimTransaction): Applied {
    if (tx.ops.length >= quota.transactionOps) return { ok: false, code: 'ENOSPC' };
    const r = applyOp(this.context(caller, quota, tx), op);
    if (!r.ok) return r;
    if (r.root) {
      tx.root = r.root;
      tx.ops.push(op);
    }
    return { ok: true, fires: [] };
  }

  /**
   * Commits `tx`: EAGAIN if any node it looked at changed since it began; otherwise its changes
   * are replayed on the current store (they give the same results, since nothing they depend on
   * changed) and become visible at once, as one step.
   */
  commitTransaction(caller: Caller, quota: XenstoredQuota, tx: SimTransaction, author: Author): Applied {
    if (this.conflictsToInject > 0) {
      this.conflictsToInject -= 1;
      return { ok: false, code: 'EAGAIN' };
    }
    for (const path of tx.accessed) {
      if (stampAt(tx.baseRoot, path) !== stampAt(this.root, path)) return { ok: false, code: 'EAGAIN' };
    }
    let root = this.root;
    const fires: FireEvent[] = [];
    const done: StoreOp[] = [];
    for (const op of tx.ops) {
      const r = applyOp({ root, caller, quota, nextStamp: this.nextStamp }, op);
      if (!r.ok) return { ok: false, code: 'EAGAIN' };
      if (r.root) {
        root = r.root;
        done.push(op);
        fires.push(...(r.fires ?? []));
      }
    }
    if (done.length > 0) this.commit(root, done, author, tx.id);
    return { ok: true, fires };
  }

  private commit(root: StoreNode, ops: readonly StoreOp[], author: Author, txId: number): void {
    this.root = root;
    const records: CommittedOp[] = ops.map((op) => {
      this.seq += 1;
      return {
        seq: this.seq,
        type: op.type,
        path: op.path,
        value: op.type === 'WRITE' ? Buffer.from(op.value) : undefined,
        perms: op.type === 'SET_PERMS' ? op.perms.map((p) => ({ ...p })) : undefined,
        domid: author.domid,
        txId,
        connectionId: author.connectionId,
      };
    });
    this.record.push(...records);
    if (this.record.length > this.recordLimit) this.record.splice(0, this.record.length - this.recordLimit);
    if (this.observers.size === 0) return;
    const event: CommitEvent = { ops: records, txId, view: new TreeView(root) };
    for (const observe of this.observers) {
      try {
        observe(event);
      } catch (e) {
        this.observerErrors.push(e);
      }
    }
  }
}
