/**
 * The simulator's quotas, after C xenstored's (tools/xenstored: quota_nb_entry_per_domain,
 * quota_max_entry_size, ...) and XSA-326's fixes. Unprivileged domains get them; dom0 is exempt
 * except from the bounds that only protect the simulator's own memory.
 */
export interface XenstoredQuota {
  /** Nodes an unprivileged domain may own. Exceeding: ENOSPC. Default 1000. */
  readonly nodes: number;
  /** Bytes of one node's value written by an unprivileged domain. Exceeding: ENOSPC. Default 2048. */
  readonly nodeSize: number;
  /** Permission entries an unprivileged domain may set on one node. Exceeding: ENOSPC. Default 5. */
  readonly permissions: number;
  /** Watches per unprivileged connection. Exceeding: E2BIG. Default 128. */
  readonly watches: number;
  /** Open transactions per unprivileged connection. Exceeding: ENOSPC. Default 10. */
  readonly transactions: number;
  /**
   * Replies queued for an unprivileged connection that does not read them: past this the
   * simulator stops reading its requests until it catches up. Default 20.
   */
  readonly outstanding: number;
  /** The same for privileged connections. Default 1024. */
  readonly privilegedOutstanding: number;
  /** Modifying operations in one transaction (any connection). Exceeding: ENOSPC. Default 1024. */
  readonly transactionOps: number;
  /** Watch events queued for one connection; more are dropped and counted. Default 1024. */
  readonly queuedEvents: number;
}

/** The quotas of unprivileged domains unless told otherwise (modelled on C xenstored's defaults). */
export const DEFAULT_QUOTA: XenstoredQuota = Object.freeze({
  nodes: 1000,
  nodeSize: 2048,
  permissions: 5,
  watches: 128,
  transactions: 10,
  outstanding: 20,
  privilegedOutstanding: 1024,
  transactionOps: 1024,
  queuedEvents: 1024,
});

/** GET_QUOTA / SET_QUOTA names (Xen master's xenstore.txt) and the fields they stand for. */
export const QUOTA_NAMES: Readonly<Record<string, keyof XenstoredQuota>> = Object.freeze({
  nodes: 'nodes',
  'node-size': 'nodeSize',
  permissions: 'permissions',
  watches: 'watches',
  transactions: 'transactions',
  outstanding: 'outstanding',
  'transaction-nodes': 'transactionOps',
});

export function checkQuota(quota: XenstoredQuota): XenstoredQuota {
  for (const [name, value] of Object.entries(quota)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`quota ${name} must be an integer >= 1`);
  }
  return quota;
}
