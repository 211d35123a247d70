import type { Duplex } from 'node:stream';
import { err, FlowError, fromDuplex, ok, pair, toDuplex, type Flow, type Result } from '@flow/core';
import { XenstoreClient, type XenstoreClientOptions } from '../../xenstore/client';
import type { XsPerm } from '../../xenstore/client-types';
import type { SpecialPath } from '../../xenstore/path';
import { accessFor, type Caller } from './access';
import type { CommitEvent, CommittedOp } from './committed-op';
import { SimConnection, type ConnectionHost, type SimConnectionKind } from './connection';
import { DEFAULT_QUOTA, checkQuota, type XenstoredQuota } from './quota';
import { handleRequest, type HandlerHost } from './request-handler';
import { listenUnix, type SimXenstoredListener, type UnixListenOptions } from './socket-listener';
import { SimStore } from './store';
import type { FireEvent } from './store-ops';
import { countNodes, lookupPath } from './tree';
import type { TreeView } from './tree-view';
import { matchWatch, reportedPath } from './watches';

/** Options of the {@link SimXenstored} constructor. */
export interface SimXenstoredOptions {
  /** Quotas for unprivileged domains (and the simulator's own memory bounds). */
  readonly quota?: Partial<XenstoredQuota>;
  /** Committed operations kept in `committed` (oldest dropped first). Default 100000. */
  readonly recordLimit?: number;
}

/** Options of `SimXenstored.introduce`. */
export interface IntroduceOptions {
  /**
   * Create `/local/domain/<domid>` (owned by dom0, readable by the domain, as the toolstack does)
   * if it is missing. Default true.
   */
  readonly home?: boolean;
}

/** Live objects, for leak checks: all of them should be back to 0 after a test closes its clients. */
export interface SimXenstoredStats {
  /** Open connections (sockets and domains). */
  readonly connections: number;
  /** Watches set, over every connection. */
  readonly watches: number;
  /** Transactions open, over every connection. */
  readonly transactions: number;
  /** Domains introduced and not yet released. */
  readonly introducedDomains: number;
  /** Nodes in the store. */
  readonly nodes: number;
  /** Connections the server killed (frames over 4096 bytes, released domains). */
  readonly killedConnections: number;
  /** Watch events dropped because a connection did not read them. */
  readonly droppedWatchEvents: number;
}

/** One live connection, for tests that look inside. */
export interface SimConnectionInfo {
  /** The connection's number, unique over the server's life. */
  readonly id: number;
  /** The domain the connection acts for (0 for sockets). */
  readonly domid: number;
  /** A socket client or a domain's ring connection. */
  readonly kind: SimConnectionKind;
  /** Watches it set. */
  readonly watches: number;
  /** Transactions it has open. */
  readonly transactions: number;
  /** Replies waiting for it to read them. */
  readonly queuedReplies: number;
  /** Watch events waiting for it to read them. */
  readonly queuedEvents: number;
  /** Watch events dropped because it did not read them. */
  readonly droppedEvents: number;
}

/**
 * A xenstored for tests and simulations, after the semantics of OXS's server and
 * docs/misc/xenstore.txt: a tree of values with permissions, one connection per domain (dom0
 * privileged), watches, transactions with conflict detection, quotas; over a Unix socket (so
 * that xenstore-utils talk to it as dom0) and in-process domain connections. It records every
 * committed change and lets tests observe the store between any two commits.
 */
export class SimXenstored {
  private readonly store: SimStore;
  private readonly connections = new Set<SimConnection>();
  private readonly listeners = new Set<SimXenstoredListener>();
  private readonly introduced = new Set<number>();
  private readonly targets = new Map<number, number>();
  private readonly specialPerms = new Map<SpecialPath, readonly XsPerm[]>([
    ['@introduceDomain', [{ access: 'n', domid: 0 }]],
    ['@releaseDomain', [{ access: 'n', domid: 0 }]],
  ]);
  private globalQuota: XenstoredQuota;
  private readonly domainQuota = new Map<number, Partial<XenstoredQuota>>();
  private connectionIds = 0;
  private transactionIds = 0;
  private killed = 0;
  private droppedFromClosed = 0;
  private closed = false;
  private readonly host: ConnectionHost & HandlerHost;

  constructor(options: SimXenstoredOptions = {}) {
    this.globalQuota = checkQuota({ ...DEFAULT_QUOTA, ...options.quota });
    const recordLimit = options.recordLimit ?? 100_000;
    if (!Number.isInteger(recordLimit) || recordLimit < 0) throw new RangeError('recordLimit must be an integer >= 0');
    this.store = new SimStore(recordLimit);
    this.host = this.makeHost();
  }

  /** The store as it is now. */
  get tree(): TreeView {
    return this.store.view();
  }

  /** Every committed change, oldest first (up to `recordLimit`). */
  get committed(): readonly CommittedOp[] {
    return this.store.committed;
  }

  /** Forgets the committed operations recorded so far (`committed` becomes empty). */
  clearRecord(): void {
    this.store.clearRecord();
  }

  /**
   * Calls `listener` after every commit (one operation, or one whole transaction) with the store
   * as it is then: the only states any client can ever see. Returns a function that stops it.
   */
  onCommit(listener: (event: CommitEvent) => void): () => void {
    return this.store.onCommit(listener);
  }

  /** What `onCommit` observers threw. */
  get observerErrors(): readonly unknown[] {
    return this.store.observerErrors;
  }

  /** Fault injection: the next `count` transaction commits fail with EAGAIN. */
  injectCommitConflicts(count: number): void {
    this.store.injectConflicts(count);
  }

  /** A snapshot of the live objects. */
  get stats(): SimXenstoredStats {
    let watches = 0;
    let transactions = 0;
    let dropped = this.droppedFromClosed;
    for (const c of this.connections) {
      watches += c.watches.size;
      transactions += c.transactions.size;
      dropped += c.droppedEvents;
    }
    return {
      connections: this.connections.size,
      watches,
      transactions,
      introducedDomains: this.introduced.size,
      nodes: countNodes(this.store.current),
      killedConnections: this.killed,
      droppedWatchEvents: dropped,
    };
  }

  /** The live connections. */
  connectionInfo(): SimConnectionInfo[] {
    return [...this.connections].map((c) => ({
      id: c.id,
      domid: c.domid,
      kind: c.kind,
      watches: c.watches.size,
      transactions: c.transactions.size,
      queuedReplies: c.queued.replies,
      queuedEvents: c.queued.events,
      droppedEvents: c.droppedEvents,
    }));
  }

  /** Listens on a Unix socket; every connection is dom0 (privileged, absolute paths only). */
  async listen(path: string, options: UnixListenOptions = {}): Promise<Result<SimXenstoredListener, FlowError>> {
    if (this.closed) return err(new FlowError('closed', 'the simulated xenstored is closed'));
    const r = await listenUnix(path, options, (socket) => {
      this.serveFlow(fromDuplex(socket), { domid: 0, kind: 'socket' });
    });
    if (r.ok) {
      const listener = r.value;
      const close = listener.close;
      this.listeners.add(listener);
      return ok({
        path: listener.path,
        get connections() {
          return listener.connections;
        },
        close: () => {
          this.listeners.delete(listener);
          return close();
        },
      });
    }
    return r;
  }

  /**
   * Serves xenstore on any flow, for domain `domid`: `kind` `domain` allows relative paths (a
   * domain's ring), `socket` does not.
   */
  serveFlow(flow: Flow, options: { readonly domid: number; readonly kind?: SimConnectionKind }): Result<void, FlowError> {
    checkDomid(options.domid);
    if (this.closed) {
      flow.abort();
      return err(new FlowError('closed', 'the simulated xenstored is closed'));
    }
    this.connectionIds += 1;
    const conn = new SimConnection(this.host, flow, this.connectionIds, options.domid, options.kind ?? 'domain');
    this.connections.add(conn);
    conn.start();
    return ok(undefined);
  }

  /** An in-process connection for domain `domid`, as a flow (the client's end). */
  connectFlow(domid: number): Result<Flow, FlowError> {
    const [server, client] = pair({ labels: [`xenstored dom${domid}`, `xenstore dom${domid}`] });
    const served = this.serveFlow(server, { domid, kind: 'domain' });
    if (!served.ok) {
      client.abort();
      return served;
    }
    return ok(client);
  }

  /** An in-process connection for domain `domid`, as a Node Duplex. */
  connectDuplex(domid: number): Result<Duplex, FlowError> {
    const flow = this.connectFlow(domid);
    return flow.ok ? ok(toDuplex(flow.value)) : flow;
  }

  /** An in-process connection for domain `domid`, as a client (relative paths allowed). */
  connect(domid: number, options: XenstoreClientOptions = {}): Result<XenstoreClient, FlowError> {
    const flow = this.connectFlow(domid);
    if (!flow.ok) return flow;
    return ok(new XenstoreClient(flow.value, { label: `xenstore dom${domid}`, allowRelativePaths: true, ...options }));
  }

  /** Whether `domid` was introduced and not released. */
  isIntroduced(domid: number): boolean {
    return this.introduced.has(domid);
  }

  /** A domain appears: creates its home directory (unless told not to) and fires @introduceDomain. */
  introduceDomain(domid: number, options: IntroduceOptions = {}): void {
    checkDomid(domid);
    this.introduced.add(domid);
    const home = `/local/domain/${domid}`;
    if (options.home !== false && !lookupPath(this.store.current, home)) {
      const dom0: Caller = { domid: 0, privileged: true };
      const author = { domid: 0, connectionId: 0 };
      this.fire(this.store.apply(dom0, this.globalQuota, { type: 'MKDIR', path: home }, author));
      const perms: XsPerm[] = [
        { access: 'n', domid: 0 },
        { access: 'r', domid },
      ];
      this.fire(this.store.apply(dom0, this.globalQuota, { type: 'SET_PERMS', path: home, perms }, author));
    }
    this.fireSpecial('@introduceDomain');
  }

  /**
   * A domain is gone: its connections are cut, `/local/domain/<domid>` is removed (firing its
   * watches) and `@releaseDomain` fires.
   */
  releaseDomain(domid: number): void {
    checkDomid(domid);
    this.introduced.delete(domid);
    this.targets.delete(domid);
    for (const c of [...this.connections]) {
      if (c.domid === domid && c.kind === 'domain') c.kill(`domain ${domid} was released`);
    }
    const dom0: Caller = { domid: 0, privileged: true };
    this.fire(this.store.apply(dom0, this.globalQuota, { type: 'RM', path: `/local/domain/${domid}` }, { domid: 0, connectionId: 0 }));
    this.fireSpecial('@releaseDomain');
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.closed = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const c of [...this.connections]) c.kill('the simulated xenstored is closing');
    await Promise.all(listeners.map((l) => l.close()));
  }

  private fire(applied: { readonly ok: boolean; readonly fires?: readonly FireEvent[] }): void {
    if (applied.ok && applied.fires) this.fireWatches(applied.fires);
  }

  private fireWatches(fires: readonly FireEvent[]): void {
    for (const fire of fires) {
      for (const conn of this.connections) {
        if (conn.watches.size === 0) continue;
        let permitted: boolean | undefined;
        for (const w of conn.watches.values()) {
          const epath = matchWatch(w, fire);
          if (epath === undefined) continue;
          permitted ??= this.watchPermitted(conn, fire);
          if (!permitted) break;
          conn.sendEvent(reportedPath(w, epath), w.token);
        }
      }
    }
  }

  /**
   * xenstored's `watch_permitted`: a watcher hears of a change if it could read the node (before
   * or after a permission change) or its parent.
   */
  private watchPermitted(conn: SimConnection, fire: FireEvent): boolean {
    const caller = this.callerFor(conn);
    if (caller.privileged) return true;
    if (fire.oldPerms && accessFor(caller, fire.oldPerms).read) return true;
    if (accessFor(caller, fire.perms).read) return true;
    return fire.parentPerms !== undefined && accessFor(caller, fire.parentPerms).read;
  }

  private fireSpecial(path: SpecialPath): void {
    const perms = this.specialPerms.get(path) ?? [{ access: 'n', domid: 0 }];
    for (const conn of this.connections) {
      const caller = this.callerFor(conn);
      if (!caller.privileged && !accessFor(caller, perms).read) continue;
      for (const w of conn.watches.values()) if (w.path === path) conn.sendEvent(path, w.token);
    }
  }

  private callerFor(conn: SimConnection): Caller {
    return { domid: conn.domid, privileged: conn.domid === 0, target: this.targets.get(conn.domid) };
  }

  private quotaFor(domid: number): XenstoredQuota {
    const own = this.domainQuota.get(domid);
    return own ? { ...this.globalQuota, ...own } : this.globalQuota;
  }

  private makeHost(): ConnectionHost & HandlerHost {
    return {
      store: this.store,
      specialPerms: this.specialPerms,
      handle: (conn, frame) => handleRequest(this.host, conn, frame),
      detach: (conn, _reason, killed) => {
        if (!this.connections.delete(conn)) return;
        this.droppedFromClosed += conn.droppedEvents;
        if (killed && !this.closed) this.killed += 1;
      },
      outstandingLimit: (conn) => (conn.domid === 0 ? this.globalQuota.privilegedOutstanding : this.quotaFor(conn.domid).outstanding),
      queuedEventsLimit: (conn) => this.quotaFor(conn.domid).queuedEvents,
      callerFor: (conn) => this.callerFor(conn),
      quotaFor: (domid) => this.quotaFor(domid),
      getQuota: (domid, field) => {
        const value = domid === undefined ? this.globalQuota[field] : this.quotaFor(domid)[field];
        return value >= Number.MAX_SAFE_INTEGER ? 0 : value;
      },
      setQuota: (domid, field, value) => {
        // 0 means "no limit" (xenstore.txt, SET_QUOTA).
        const effective = value === 0 ? Number.MAX_SAFE_INTEGER : value;
        if (domid === undefined) this.globalQuota = { ...this.globalQuota, [field]: effective };
        else this.domainQuota.set(domid, { ...this.domainQuota.get(domid), [field]: effective });
      },
      fire: (fires) => this.fireWatches(fires),
      nextTransactionId: () => {
        this.transactionIds = this.transactionIds >= 0xffffffff ? 1 : this.transactionIds + 1;
        return this.transactionIds;
      },
      introduceDomain: (domid) => this.introduceDomain(domid),
      releaseDomain: (domid) => this.releaseDomain(domid),
      isIntroduced: (domid) => this.isIntroduced(domid),
      setTarget: (domid, target) => {
        this.targets.set(domid, target);
      },
    };
  }
}

function checkDomid(domid: number): void {
  if (!Number.isInteger(domid) || domid < 0 || domid > 0xffff) throw new RangeError('domid must be an integer 0..65535');
}
