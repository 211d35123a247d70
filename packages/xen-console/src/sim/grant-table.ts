import { err, ok, OK, type FlowError, type Result } from '@flow/core';
import { CONSOLE_LAYOUT } from '../ring/layout';
import { SabPage } from './sab-page';
import { simError } from './sim-errors';

/** One entry of a domain's grant table. */
interface GrantEntry {
  readonly page: SharedArrayBuffer;
  readonly grantee: number;
  readonly writable: boolean;
  mapCount: number;
  /** Ended by the granter while still mapped: goes away with the last unmap (Linux's deferred end). */
  revokePending: boolean;
}

/** A live mapping, for accounting and for unmapping everything a dying domain holds. */
interface Mapping {
  readonly mapper: number;
  readonly granter: number;
  readonly ref: number;
}

/** Options of the {@link SimGrantTable} constructor. */
export interface SimGrantTableOptions {
  /** Grants per granting domain; default 1024. */
  readonly maxGrants?: number;
}

/**
 * The first ref handed out: Linux keeps refs 0..7 for the toolstack (GNTTAB_NR_RESERVED_ENTRIES),
 * which is why a Linux guest's first console shows `ring-ref 8`. Ref 0 is GNTTAB_RESERVED_CONSOLE.
 */
export const FIRST_GRANT_REF = 8;

/**
 * The hypervisor's grant tables: per granting domain, ref → the shared page, who may map it,
 * whether writably, and how many mappings exist. `map` checks the grantee and the access as Xen
 * does and returns a `SabPage` over the very same memory; ending a grant that is still mapped
 * fails with EBUSY, as `gnttab_end_foreign_access_ref` does.
 */
export class SimGrantTable {
  /** Grants per granting domain. */
  readonly maxGrants: number;
  readonly #tables = new Map<number, Map<number, GrantEntry>>();
  readonly #mappings = new Map<SabPage, Mapping>();

  constructor(options: SimGrantTableOptions = {}) {
    this.maxGrants = options.maxGrants ?? 1024;
    if (!Number.isInteger(this.maxGrants) || this.maxGrants < 1) throw new RangeError(`bad maxGrants ${this.maxGrants}`);
  }

  /**
   * `granter` lets `grantee` map `page`. The ref is the lowest free one from 8, or `options.ref`
   * (ref 0 is how a toolstack offers the primary console).
   */
  grant(
    granter: number,
    page: SharedArrayBuffer,
    grantee: number,
    options: { readonly writable: boolean; readonly ref?: number },
  ): Result<number, FlowError> {
    if (page.byteLength !== CONSOLE_LAYOUT.PAGE_SIZE) throw new RangeError(`a granted page is ${CONSOLE_LAYOUT.PAGE_SIZE} bytes`);
    const table = this.#table(granter);
    let ref = options.ref;
    if (ref !== undefined) {
      if (!Number.isInteger(ref) || ref < 0 || ref >= this.maxGrants) throw new RangeError(`grant ref ${ref} is out of range`);
      if (table.has(ref)) return err(simError('in-use', 'EEXIST', `grant ref ${ref} of domain ${granter} is in use`, 'grant'));
    } else {
      ref = this.#freeRef(table);
      if (ref === undefined) {
        return err(simError('limit', 'ENOSPC', `domain ${granter} has no free grant ref below ${this.maxGrants}`, 'grant'));
      }
    }
    table.set(ref, { page, grantee, writable: options.writable, mapCount: 0, revokePending: false });
    return ok(ref);
  }

  /** `caller` maps `ref` of `granter`; the page's `unmap()` gives the mapping back. */
  map(caller: number, granter: number, ref: number, options: { readonly writable: boolean }): Result<SabPage, FlowError> {
    const entry = this.#tables.get(granter)?.get(ref);
    if (!entry || entry.revokePending) {
      return err(simError('not-found', 'ENOENT', `domain ${granter} has not granted ref ${ref}`, 'map_grant_ref'));
    }
    if (entry.grantee !== caller) {
      return err(simError('permission', 'EPERM', `grant ref ${ref} of domain ${granter} is for domain ${entry.grantee}, not ${caller}`, 'map_grant_ref'));
    }
    if (options.writable && !entry.writable) {
      return err(simError('permission', 'EACCES', `grant ref ${ref} of domain ${granter} is read-only`, 'map_grant_ref'));
    }
    entry.mapCount++;
    const mapping: Mapping = { mapper: caller, granter, ref };
    const page: SabPage = new SabPage(entry.page, {
      writable: options.writable,
      onUnmap: () => this.#unmapped(page, entry, mapping),
    });
    this.#mappings.set(page, mapping);
    return ok(page);
  }

  /** Ends a grant; EBUSY while it is mapped (the granter must not reuse the page yet). */
  revoke(granter: number, ref: number): Result<void, FlowError> {
    const table = this.#tables.get(granter);
    const entry = table?.get(ref);
    if (!table || !entry || entry.revokePending) {
      return err(simError('not-found', 'ENOENT', `domain ${granter} has not granted ref ${ref}`, 'end_foreign_access'));
    }
    if (entry.mapCount > 0) {
      return err(simError('in-use', 'EBUSY', `grant ref ${ref} of domain ${granter} is still mapped ${entry.mapCount} time(s)`, 'end_foreign_access'));
    }
    table.delete(ref);
    return OK;
  }

  /**
   * Ends a grant now, or as soon as its last mapping goes (Linux `gnttab_end_foreign_access`
   * defers the same way). No new mapping is allowed meanwhile.
   */
  revokeWhenUnmapped(granter: number, ref: number): void {
    const entry = this.#tables.get(granter)?.get(ref);
    if (!entry) return;
    if (entry.mapCount === 0) this.#tables.get(granter)?.delete(ref);
    else entry.revokePending = true;
  }

  /** Unmaps every page that `mapper` holds (its domain died); returns how many. */
  unmapAllOf(mapper: number): number {
    let count = 0;
    for (const [page, mapping] of [...this.#mappings]) {
      if (mapping.mapper !== mapper) continue;
      page.unmap();
      count++;
    }
    return count;
  }

  /** Ends every grant of `granter` (its domain died); mapped ones go with their last unmap. */
  revokeAllOf(granter: number): void {
    for (const ref of [...(this.#tables.get(granter)?.keys() ?? [])]) this.revokeWhenUnmapped(granter, ref);
  }

  /** Live mappings held by `mapper`, or by anyone. */
  openMappings(mapper?: number): number {
    if (mapper === undefined) return this.#mappings.size;
    let count = 0;
    for (const mapping of this.#mappings.values()) if (mapping.mapper === mapper) count++;
    return count;
  }

  /** Grants that `granter` (or anyone) still has in its table, including ones waiting to end. */
  activeGrants(granter?: number): number {
    if (granter !== undefined) return this.#tables.get(granter)?.size ?? 0;
    let count = 0;
    for (const table of this.#tables.values()) count += table.size;
    return count;
  }

  /** Grants whose end waits for an unmap. */
  pendingRevokes(): number {
    let count = 0;
    for (const table of this.#tables.values()) for (const entry of table.values()) if (entry.revokePending) count++;
    return count;
  }

  /** How many mappings `ref` of `granter` has now (undefined: no such grant). */
  mapCount(granter: number, ref: number): number | undefined {
    return this.#tables.get(granter)?.get(ref)?.mapCount;
  }

  #unmapped(page: SabPage, entry: GrantEntry, mapping: Mapping): void {
    this.#mappings.delete(page);
    entry.mapCount--;
    if (entry.mapCount === 0 && entry.revokePending) {
      const table = this.#tables.get(mapping.granter);
      if (table?.get(mapping.ref) === entry) table.delete(mapping.ref);
    }
  }

  #table(granter: number): Map<number, GrantEntry> {
    let table = this.#tables.get(granter);
    if (!table) {
      table = new Map();
      this.#tables.set(granter, table);
    }
    return table;
  }

  #freeRef(table: Map<number, GrantEntry>): number | undefined {
    for (let ref = FIRST_GRANT_REF; ref < this.maxGrants; ref++) if (!table.has(ref)) return ref;
    return undefined;
  }
}
