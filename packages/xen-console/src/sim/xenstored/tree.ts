import type { XsPerm } from '../../xenstore/client-types';
import { pathSegments } from '../../xenstore/path';

/**
 * One node of the simulated store. Nodes are immutable: a change copies the path from the root
 * down (as OXS's store does), so a transaction's snapshot is just the root it started from.
 */
export interface StoreNode {
  readonly value: Buffer;
  readonly perms: readonly XsPerm[];
  readonly children: ReadonlyMap<string, StoreNode>;
  /**
   * Changes whenever this node's own value, permissions or set of children changes (not when
   * something deeper changes): what transaction conflict detection compares.
   */
  readonly stamp: number;
}

const EMPTY: ReadonlyMap<string, StoreNode> = new Map();

export function newNode(value: Buffer, perms: readonly XsPerm[], stamp: number): StoreNode {
  return { value, perms, children: EMPTY, stamp };
}

/** The node at `segments`, or undefined. */
export function lookup(root: StoreNode, segments: readonly string[]): StoreNode | undefined {
  let node: StoreNode | undefined = root;
  for (const name of segments) {
    node = node.children.get(name);
    if (!node) return undefined;
  }
  return node;
}

export function lookupPath(root: StoreNode, path: string): StoreNode | undefined {
  return lookup(root, pathSegments(path));
}

/** The stamp at `path`, or -1 where there is no node. */
export function stampAt(root: StoreNode, path: string): number {
  return lookupPath(root, path)?.stamp ?? -1;
}

/**
 * A new root in which the node at `segments` (whose parent must exist) is `node`, or is gone when
 * `node` is undefined. A parent whose set of children changes gets a new stamp.
 */
export function replaceAt(root: StoreNode, segments: readonly string[], node: StoreNode | undefined, nextStamp: () => number): StoreNode {
  if (segments.length === 0) {
    if (!node) throw new RangeError('the root cannot be removed');
    return node;
  }
  const go = (parent: StoreNode, i: number): StoreNode => {
    const name = segments[i];
    const children = new Map(parent.children);
    if (i === segments.length - 1) {
      const had = children.has(name);
      if (node) children.set(name, node);
      else children.delete(name);
      const membershipChanged = had !== (node !== undefined);
      return { ...parent, children, stamp: membershipChanged ? nextStamp() : parent.stamp };
    }
    const child = parent.children.get(name);
    if (!child) throw new RangeError(`no node at /${segments.slice(0, i + 1).join('/')}`);
    children.set(name, go(child, i + 1));
    return { ...parent, children };
  };
  return go(root, 0);
}

/** Visits `node` and everything below it, parents before children. */
export function walk(node: StoreNode, path: string, visit: (path: string, node: StoreNode) => void): void {
  visit(path, node);
  for (const [name, child] of node.children) walk(child, path === '/' ? `/${name}` : `${path}/${name}`, visit);
}

/** How many nodes `domid` owns (first permission entry). */
export function countOwned(root: StoreNode, domid: number): number {
  let n = 0;
  walk(root, '/', (_p, node) => {
    if (node.perms[0].domid === domid) n += 1;
  });
  return n;
}

export function countNodes(root: StoreNode): number {
  let n = 0;
  walk(root, '/', () => {
    n += 1;
  });
  return n;
}
