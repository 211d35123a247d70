import type { XsPerm } from '../../xenstore/client-types';
import type { XsErrorCode } from '../../xenstore/errors';
import { parentPath, pathSegments } from '../../xenstore/path';
import { accessFor, type Caller } from './access';
import type { XenstoredQuota } from './quota';
import { countOwned, lookup, newNode, replaceAt, walk, type StoreNode } from './tree';

/** A change that watches may be told of, with what is needed to decide who may see it. */
export interface FireEvent {
  readonly path: string;
  /** The node's permissions (before a removal; after a SET_PERMS). */
  readonly perms: readonly XsPerm[];
  /** SET_PERMS: the permissions before the change, so that who could read it is told too. */
  readonly oldPerms?: readonly XsPerm[];
  /** The parent's permissions: xenstored also tells watchers who may read the parent. */
  readonly parentPerms?: readonly XsPerm[];
  /** Only watches at or above `path` match (the descendants of a removed node). */
  readonly exact: boolean;
  /** A removal: watches below `path` are told with their own path (xenstore.txt, WATCH_EVENT). */
  readonly removal: boolean;
}

/** The operations that change the store. */
export type StoreOp =
  | { readonly type: 'WRITE'; readonly path: string; readonly value: Buffer }
  | { readonly type: 'MKDIR'; readonly path: string }
  | { readonly type: 'RM'; readonly path: string }
  | { readonly type: 'SET_PERMS'; readonly path: string; readonly perms: readonly XsPerm[] };

export interface OpContext {
  readonly root: StoreNode;
  readonly caller: Caller;
  readonly quota: XenstoredQuota;
  readonly nextStamp: () => number;
  /** In a transaction: every path whose node the operation looked at, for conflict detection. */
  readonly accessed?: Set<string>;
}

export type OpOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly root?: StoreNode; readonly fires?: readonly FireEvent[] }
  | { readonly ok: false; readonly code: XsErrorCode };

function fail(code: XsErrorCode): OpOutcome<never> {
  return { ok: false, code };
}

function touch(ctx: OpContext, path: string): void {
  ctx.accessed?.add(path);
}

/**
 * xenstored's `errno_from_parents`: a missing node is ENOENT only to a caller who may `want`
 * the nearest existing ancestor; to anyone else it is EACCES, so that permissions do not leak
 * whether a node exists.
 */
function missing(ctx: OpContext, path: string, want: 'read' | 'write'): OpOutcome<never> {
  const segments = pathSegments(path);
  for (let n = segments.length - 1; n >= 0; n--) {
    const ancestor = lookup(ctx.root, segments.slice(0, n));
    if (ancestor) {
      touch(ctx, n === 0 ? '/' : `/${segments.slice(0, n).join('/')}`);
      return fail(accessFor(ctx.caller, ancestor.perms)[want] ? 'ENOENT' : 'EACCES');
    }
  }
  return fail('EACCES');
}

function existing(ctx: OpContext, path: string, want: 'read' | 'write'): OpOutcome<StoreNode> {
  touch(ctx, path);
  const node = lookup(ctx.root, pathSegments(path));
  if (!node) return missing(ctx, path, want);
  if (!accessFor(ctx.caller, node.perms)[want]) return fail('EACCES');
  return { ok: true, value: node };
}

export function readValue(ctx: OpContext, path: string): OpOutcome<Buffer> {
  const node = existing(ctx, path, 'read');
  return node.ok ? { ok: true, value: node.value.value } : node;
}

export function listChildren(ctx: OpContext, path: string): OpOutcome<{ children: string[]; stamp: number }> {
  const node = existing(ctx, path, 'read');
  return node.ok ? { ok: true, value: { children: [...node.value.children.keys()], stamp: node.value.stamp } } : node;
}

export function getPermsOf(ctx: OpContext, path: string): OpOutcome<readonly XsPerm[]> {
  const node = existing(ctx, path, 'read');
  return node.ok ? { ok: true, value: node.value.perms } : node;
}

function parentPermsOf(root: StoreNode, path: string): readonly XsPerm[] | undefined {
  const parent = parentPath(path);
  return parent === undefined ? undefined : lookup(root, pathSegments(parent))?.perms;
}

/**
 * Creates `path` and its missing parents. Each new node inherits its parent's permissions;
 * an unprivileged creator becomes the owner of what it creates, a privileged one keeps the
 * parent's owner (xenstored's `construct_node`).
 */
function create(ctx: OpContext, path: string, value: Buffer): OpOutcome<void> {
  const segments = pathSegments(path);
  let depth = segments.length - 1;
  while (depth > 0 && !lookup(ctx.root, segments.slice(0, depth))) depth -= 1;
  const anchorSegments = segments.slice(0, depth);
  const anchor = lookup(ctx.root, anchorSegments);
  if (!anchor) return fail('ENOENT');
  for (let i = depth; i <= segments.length; i++) touch(ctx, i === 0 ? '/' : `/${segments.slice(0, i).join('/')}`);
  if (!accessFor(ctx.caller, anchor.perms).write) return fail('EACCES');
  const created = segments.length - depth;
  if (!ctx.caller.privileged && countOwned(ctx.root, ctx.caller.domid) + created > ctx.quota.nodes) return fail('ENOSPC');
  const perms: XsPerm[] = anchor.perms.map((p) => ({ access: p.access, domid: p.domid }));
  if (!ctx.caller.privileged) perms[0] = { access: perms[0].access, domid: ctx.caller.domid };
  // Build the new chain bottom-up, then hang it under the existing anchor.
  let chain = newNode(value, perms, ctx.nextStamp());
  for (let i = segments.length - 1; i > depth; i--) {
    const parent = newNode(Buffer.alloc(0), perms, ctx.nextStamp());
    chain = { ...parent, children: new Map([[segments[i], chain]]) };
  }
  const root = replaceAt(ctx.root, segments.slice(0, depth + 1), chain, ctx.nextStamp);
  const fire: FireEvent = { path, perms, parentPerms: segments.length - depth === 1 ? anchor.perms : perms, exact: false, removal: false };
  return { ok: true, value: undefined, root, fires: [fire] };
}

export function write(ctx: OpContext, path: string, value: Buffer): OpOutcome<void> {
  if (!ctx.caller.privileged && value.length > ctx.quota.nodeSize) return fail('ENOSPC');
  touch(ctx, path);
  const segments = pathSegments(path);
  const node = lookup(ctx.root, segments);
  if (!node) {
    const why = missing(ctx, path, 'write');
    if (why.ok || why.code !== 'ENOENT') return why;
    return create(ctx, path, value);
  }
  if (!accessFor(ctx.caller, node.perms).write) return fail('EACCES');
  const updated: StoreNode = { ...node, value: Buffer.from(value), stamp: ctx.nextStamp() };
  const root = replaceAt(ctx.root, segments, updated, ctx.nextStamp);
  return { ok: true, value: undefined, root, fires: [{ path, perms: node.perms, parentPerms: parentPermsOf(ctx.root, path), exact: false, removal: false }] };
}

/** MKDIR: creates the node (and parents) with an empty value; an existing node is left alone. */
export function mkdir(ctx: OpContext, path: string): OpOutcome<void> {
  touch(ctx, path);
  const node = lookup(ctx.root, pathSegments(path));
  if (node) return accessFor(ctx.caller, node.perms).write ? { ok: true, value: undefined } : fail('EACCES');
  const why = missing(ctx, path, 'write');
  if (why.ok || why.code !== 'ENOENT') return why;
  return create(ctx, path, Buffer.alloc(0));
}

/**
 * RM: removes the node and everything below it. A missing node is fine if its parent exists
 * (xenstore.txt). Watches hear of the node and of each node below it.
 */
export function rm(ctx: OpContext, path: string): OpOutcome<void> {
  if (path === '/') return fail('EINVAL');
  touch(ctx, path);
  const segments = pathSegments(path);
  const node = lookup(ctx.root, segments);
  const parent = parentPath(path) ?? '/';
  touch(ctx, parent);
  if (!node) {
    const why = missing(ctx, path, 'write');
    if (why.ok || why.code !== 'ENOENT') return why;
    return lookup(ctx.root, pathSegments(parent)) ? { ok: true, value: undefined } : fail('ENOENT');
  }
  if (!accessFor(ctx.caller, node.perms).write) return fail('EACCES');
  const fires: FireEvent[] = [];
  const parentPerms = parentPermsOf(ctx.root, path);
  fires.push({ path, perms: node.perms, parentPerms, exact: false, removal: true });
  walk(node, path, (p, n) => {
    if (p !== path) fires.push({ path: p, perms: n.perms, parentPerms: parentPermsOf(ctx.root, p), exact: true, removal: true });
  });
  const root = replaceAt(ctx.root, segments, undefined, ctx.nextStamp);
  return { ok: true, value: undefined, root, fires };
}

/**
 * SET_PERMS: only the owner or a privileged domain; an unprivileged owner may not give the node
 * away (EPERM), and may set at most `quota.permissions` entries.
 */
export function setPerms(ctx: OpContext, path: string, perms: readonly XsPerm[]): OpOutcome<void> {
  if (perms.length === 0) return fail('EINVAL');
  touch(ctx, path);
  const segments = pathSegments(path);
  const node = lookup(ctx.root, segments);
  if (!node) return missing(ctx, path, 'write');
  const access = accessFor(ctx.caller, node.perms);
  if (!access.write || !access.owner) return fail('EACCES');
  if (!ctx.caller.privileged) {
    if (perms[0].domid !== node.perms[0].domid) return fail('EPERM');
    if (perms.length > ctx.quota.permissions) return fail('ENOSPC');
  }
  const copy = perms.map((p) => ({ access: p.access, domid: p.domid }));
  const updated: StoreNode = { ...node, perms: copy, stamp: ctx.nextStamp() };
  const root = replaceAt(ctx.root, segments, updated, ctx.nextStamp);
  return {
    ok: true,
    value: undefined,
    root,
    fires: [{ path, perms: copy, oldPerms: node.perms, parentPerms: parentPermsOf(ctx.root, path), exact: false, removal: false }],
  };
}

/** Runs one modifying operation. */
export function applyOp(ctx: OpContext, op: StoreOp): OpOutcome<void> {
  switch (op.type) {
    case 'WRITE':
      return write(ctx, op.path, op.value);
    case 'MKDIR':
      return mkdir(ctx, op.path);
    case 'RM':
      return rm(ctx, op.path);
    case 'SET_PERMS':
      return setPerms(ctx, op.path, op.perms);
  }
}
