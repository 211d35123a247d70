import type { XsPerm } from '../../xenstore/client-types';
import { pathSegments } from '../../xenstore/path';
import { accessFor, callerOf } from './access';
import { lookup, walk, type StoreNode } from './tree';

/**
 * A read-only look at one state of the simulated store, for tests: what is there, and what a
 * given domain could read or write at that moment (with xenstored's permission rules).
 */
export class TreeView {
  /** @internal Made by the simulated xenstored. */
  constructor(private readonly root: StoreNode) {}

  private node(path: string): StoreNode | undefined {
    return lookup(this.root, pathSegments(path));
  }

  /** Whether the node `path` exists. */
  exists(path: string): boolean {
    return this.node(path) !== undefined;
  }

  /** The value's bytes, or undefined where there is no node. */
  read(path: string): Buffer | undefined {
    const n = this.node(path);
    return n ? Buffer.from(n.value) : undefined;
  }

  /** The value as UTF-8 text, or undefined. */
  readString(path: string): string | undefined {
    return this.node(path)?.value.toString('utf8');
  }

  /** The names of the children of `path`; `undefined` if it does not exist. */
  directory(path: string): string[] | undefined {
    const n = this.node(path);
    return n ? [...n.children.keys()] : undefined;
  }

  /** A copy of the permissions of `path`, the owner first; `undefined` if it does not exist. */
  perms(path: string): XsPerm[] | undefined {
    return this.node(path)?.perms.map((p) => ({ ...p }));
  }

  /** Whether domain `domid` (dom0 privileged) may read the node at `path` (false if missing). */
  canRead(domid: number, path: string): boolean {
    const n = this.node(path);
    return n !== undefined && accessFor(callerOf(domid), n.perms).read;
  }

  /**
   * Whether domain `domid` may write `path`: the node's permissions, or, for a missing node,
   * those of its nearest existing ancestor (where xenstored would create it).
   */
  canWrite(domid: number, path: string): boolean {
    const segments = pathSegments(path);
    for (let n = segments.length; n >= 0; n--) {
      const node = lookup(this.root, segments.slice(0, n));
      if (node) return accessFor(callerOf(domid), node.perms).write;
    }
    return false;
  }

  /** Every path at or below `under`, parents first. */
  paths(under = '/'): string[] {
    const start = this.node(under);
    if (!start) return [];
    const out: string[] = [];
    walk(start, under, (p) => out.push(p));
    return out;
  }
}
