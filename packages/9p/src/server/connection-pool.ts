import { FlowError, type Result } from '@flow/core';

/** What the pool needs to know about a served connection to pick one that may give way. */
export interface PoolMember {
  /** When the connection last received a whole request (performance.now() milliseconds). */
  lastActivityMs(): number;
  /** Whether the client holds fids (attached, a mount) or has requests in flight. */
  inUse(): boolean;
  /** Ends the connection because a newcomer needs its slot. */
  evict(reason: FlowError): void;
}

/** A connection's place in the pool; release it when the connection ends. */
export interface PoolSlot {
  /** Gives the slot back (once; later calls do nothing harmful). */
  release(): void;
}

/** How big a `ConnectionPool` is. */
export interface ConnectionPoolOptions {
  /** Connections served at once. */
  readonly maxConnections: number;
}

/**
 * The connections one server serves at once, shared by every `serve9p` given it. When the pool
 * is full, a newcomer takes the slot of the connection that has been idle longest among those
 * holding no fid and no request in flight (one that never attached, or attached and clunked
 * everything): such a connection costs the server a slot and gives its client nothing, which is
 * what a slowloris does. Connections that hold fids (a mount, even an idle one) are never cut
 * for a newcomer; when every slot is held by one, the newcomer is refused.
 */
export class ConnectionPool {
  /** Connections served at once (from the options). */
  readonly maxConnections: number;
  private readonly members = new Set<PoolMember>();
  /** Connections cut to make room, since the pool was made. */
  evictions = 0;
  /** Newcomers refused because every slot was in use. */
  refusals = 0;

  constructor(options: ConnectionPoolOptions) {
    const max = options.maxConnections;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxConnections must be an integer of at least 1');
    this.maxConnections = max;
  }

  /** Connections holding a slot. */
  get size(): number {
    return this.members.size;
  }

  /** Gives `member` a slot, cutting the longest-idle unused connection if the pool is full. */
  admit(member: PoolMember): Result<PoolSlot, FlowError> {
    if (this.members.size >= this.maxConnections) {
      let victim: PoolMember | undefined;
      for (const m of this.members) {
        if (m.inUse()) continue;
        if (!victim || m.lastActivityMs() < victim.lastActivityMs()) victim = m;
      }
      if (!victim) {
        this.refusals++;
        return {
          ok: false,
          error: new FlowError('limit', `the server is full: ${this.maxConnections} connection(s), each holding fids or busy`, { code: 'EMFILE' }),
        };
      }
      this.members.delete(victim);
      this.evictions++;
      victim.evict(new FlowError('limit', 'connection closed to make room for a new one: the server was full and this one held no fid', { code: 'EMFILE' }));
    }
    this.members.add(member);
    let released = false;
    return {
      ok: true,
      value: {
        release: () => {
          if (released) return;
          released = true;
          this.members.delete(member);
        },
      },
    };
  }
}
