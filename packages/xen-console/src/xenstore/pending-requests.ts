import type { FlowError, Result } from '@flow/core';
import type { XsReply, XsRequestType } from './payload';

interface Pending {
  readonly type: XsRequestType;
  readonly context: string;
  readonly resolve: (result: Result<XsReply, FlowError>) => void;
}

/**
 * Requests sent and not answered yet, by req_id. Replies may come in any order
 * (xenstore.txt), so each is matched by its id; ids wrap at 2^32 and skip ids still in use.
 */
export class PendingRequests {
  private readonly byId = new Map<number, Pending>();
  private next = 1;

  get size(): number {
    return this.byId.size;
  }

  add(pending: Pending): number {
    while (this.byId.has(this.next) || this.next === 0) this.next = (this.next + 1) >>> 0;
    const id = this.next;
    this.next = (this.next + 1) >>> 0;
    this.byId.set(id, pending);
    return id;
  }

  take(id: number): Pending | undefined {
    const p = this.byId.get(id);
    if (p) this.byId.delete(id);
    return p;
  }

  /** The oldest pending request of `type` (ids are handed out in order; a Map keeps insertion order). */
  takeOldest(type: XsRequestType): Pending | undefined {
    for (const [id, p] of this.byId) {
      if (p.type === type) {
        this.byId.delete(id);
        return p;
      }
    }
    return undefined;
  }

  failAll(error: FlowError): void {
    const all = [...this.byId.values()];
    this.byId.clear();
    for (const p of all) p.resolve({ ok: false, error });
  }
}
