import { err, FlowError, ok, type Result } from '@flow/core';
import type { XsPerm } from './client-types';

const ACCESS = new Set(['n', 'r', 'w', 'b']);
// Domain ids are 16-bit (domid_t); DOMID_SELF and friends are in that range too.
const MAX_DOMID = 0xffff;

/** `{ access: 'r', domid: 3 }` → `r3`. */
export function formatPerm(perm: XsPerm): string {
  return `${perm.access}${perm.domid}`;
}

/** Parses `n0`, `r3`, `w12`, `b65535`; anything else (signs, spaces, hex, > 65535) is an error. */
export function parsePerm(text: string): Result<XsPerm, FlowError> {
  const m = /^([nrwb])(\d{1,5})$/.exec(text);
  const domid = m ? Number(m[2]) : NaN;
  if (!m || domid > MAX_DOMID) {
    return err(new FlowError('invalid', `bad xenstore permission ${JSON.stringify(text.slice(0, 40))}`, { code: 'EINVAL' }));
  }
  return ok({ access: m[1] as XsPerm['access'], domid });
}

/** Throws for a permission list no caller should build (empty, bad access letter, bad domid). */
export function checkPerms(perms: readonly XsPerm[]): void {
  if (!Array.isArray(perms) || perms.length === 0) throw new TypeError('a permission list needs at least the owner entry');
  for (const p of perms) {
    if (typeof p !== 'object' || p === null || !ACCESS.has(p.access)) throw new TypeError("a permission's access must be 'n', 'r', 'w' or 'b'");
    if (!Number.isInteger(p.domid) || p.domid < 0 || p.domid > MAX_DOMID) throw new TypeError('a permission domid must be an integer 0..65535');
  }
}

/** Whether an access letter allows reading / writing. */
export function accessAllows(access: XsPerm['access'], what: 'read' | 'write'): boolean {
  return access === 'b' || (what === 'read' ? access === 'r' : access === 'w');
}
