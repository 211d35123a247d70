import type { XsPerm } from '../../xenstore/client-types';
import { accessAllows } from '../../xenstore/perms';

/** Who sends a request: its domain, whether that domain is privileged (dom0), its SET_TARGET. */
export interface Caller {
  readonly domid: number;
  readonly privileged: boolean;
  /** The domain this one acts for (SET_TARGET, e.g. a device model stub domain). */
  readonly target?: number;
}

export interface Access {
  readonly read: boolean;
  readonly write: boolean;
  /** May change the permissions (the owner, or a privileged domain). */
  readonly owner: boolean;
}

const ALL: Access = { read: true, write: true, owner: true };

/**
 * xenstored's `perm_for_conn`: privileged domains and the owner (or the owner's SET_TARGET
 * controller) may do everything; otherwise the first ACL entry naming the domain decides, and
 * the owner entry's access is the default for everyone else.
 */
export function accessFor(caller: Caller, perms: readonly XsPerm[]): Access {
  const owner = perms[0];
  const mine = (domid: number): boolean => domid === caller.domid || (caller.target !== undefined && domid === caller.target);
  if (caller.privileged || mine(owner.domid)) return ALL;
  const entry = perms.slice(1).find((p) => mine(p.domid)) ?? owner;
  return { read: accessAllows(entry.access, 'read'), write: accessAllows(entry.access, 'write'), owner: false };
}

/** A caller of domain `domid` as the simulator treats it: dom0 is privileged. */
export function callerOf(domid: number, target?: number): Caller {
  return { domid, privileged: domid === 0, target };
}
