import type { FlowError, Result } from '@flow/core';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { FIRST_GRANT_REF, SimGrantTable } from '../src/sim/grant-table';
import { SimHypervisor } from '../src/sim/hypervisor';
import { PlainPage } from '../src/sim/plain-page';
import { SabPage } from '../src/sim/sab-page';

function value<T>(result: Result<T, FlowError>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

function failure<T>(result: Result<T, FlowError>): FlowError {
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

const GUEST = 1;
const DOM0 = 0;

describe('SimGrantTable', () => {
  test('the grantee maps the very same memory; refs start at 8 as Linux hands them out', () => {
    const table = new SimGrantTable();
    const guestPage = new SabPage();
    const ref = value(table.grant(GUEST, guestPage.buffer, DOM0, { writable: true }));
    expect(ref).toBe(FIRST_GRANT_REF);
    const mapped = value(table.map(DOM0, GUEST, ref, { writable: true }));
    guestPage.storeU32(CONSOLE_LAYOUT.OUT_PROD, 42);
    expect(mapped.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(42);
    mapped.writeBytes(0, Uint8Array.of(1, 2));
    const back = new Uint8Array(2);
    guestPage.readBytes(0, 2, back, 0);
    expect([...back]).toEqual([1, 2]);
    expect(value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }))).toBe(FIRST_GRANT_REF + 1);
  });

  test('mapCount counts mappings and unmaps; revoke while mapped is EBUSY, as in Xen', () => {
    const table = new SimGrantTable();
    const ref = value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }));
    const a = value(table.map(DOM0, GUEST, ref, { writable: true }));
    const b = value(table.map(DOM0, GUEST, ref, { writable: false }));
    expect(table.mapCount(GUEST, ref)).toBe(2);
    expect(table.openMappings(DOM0)).toBe(2);
    const busy = failure(table.revoke(GUEST, ref));
    expect(busy).toMatchObject({ kind: 'in-use', code: 'EBUSY', errno: 16 });
    a.unmap();
    a.unmap();
    expect(table.mapCount(GUEST, ref)).toBe(1);
    b.unmap();
    expect(table.mapCount(GUEST, ref)).toBe(0);
    expect(value(table.revoke(GUEST, ref))).toBeUndefined();
    expect(failure(table.map(DOM0, GUEST, ref, { writable: true }))).toMatchObject({ kind: 'not-found', code: 'ENOENT' });
    expect(table.activeGrants()).toBe(0);
  });

  test('a ref that was never granted is not-found (ENOENT)', () => {
    const table = new SimGrantTable();
    expect(failure(table.map(DOM0, GUEST, 8, { writable: true }))).toMatchObject({ kind: 'not-found', code: 'ENOENT', syscall: 'map_grant_ref' });
    expect(failure(table.revoke(GUEST, 8))).toMatchObject({ kind: 'not-found', code: 'ENOENT' });
  });

  test('a grant for another domain is a permission error (EPERM), and nothing is mapped', () => {
    const table = new SimGrantTable();
    const ref = value(table.grant(GUEST, new SabPage().buffer, 7, { writable: true }));
    const error = failure(table.map(DOM0, GUEST, ref, { writable: true }));
    expect(error).toMatchObject({ kind: 'permission', code: 'EPERM' });
    expect(error.message).toBe('grant ref 8 of domain 1 is for domain 7, not 0');
    expect(table.mapCount(GUEST, ref)).toBe(0);
    expect(table.openMappings()).toBe(0);
  });

  test('a read-only grant cannot be mapped writable (EACCES) but can be mapped read-only', () => {
    const table = new SimGrantTable();
    const ref = value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: false }));
    expect(failure(table.map(DOM0, GUEST, ref, { writable: true }))).toMatchObject({ kind: 'permission', code: 'EACCES' });
    const page = value(table.map(DOM0, GUEST, ref, { writable: false }));
    expect(page.loadU32(0)).toBe(0);
    expect(() => page.storeU32(0, 1)).toThrow(/read-only/);
    page.unmap();
  });

  test('a revoke deferred until the last unmap (Linux gnttab_end_foreign_access) refuses new mappings meanwhile', () => {
    const table = new SimGrantTable();
    const ref = value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }));
    const page = value(table.map(DOM0, GUEST, ref, { writable: true }));
    table.revokeWhenUnmapped(GUEST, ref);
    expect(table.pendingRevokes()).toBe(1);
    expect(failure(table.map(DOM0, GUEST, ref, { writable: true })).kind).toBe('not-found');
    page.unmap();
    expect(table.pendingRevokes()).toBe(0);
    expect(table.activeGrants(GUEST)).toBe(0);
  });

  test('an explicit ref 0 (GNTTAB_RESERVED_CONSOLE) can be granted once', () => {
    const table = new SimGrantTable();
    expect(value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true, ref: 0 }))).toBe(0);
    expect(failure(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true, ref: 0 }))).toMatchObject({ kind: 'in-use', code: 'EEXIST' });
  });

  test('a full grant table is a limit error (ENOSPC)', () => {
    const table = new SimGrantTable({ maxGrants: 10 });
    value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }));
    value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }));
    expect(failure(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }))).toMatchObject({ kind: 'limit', code: 'ENOSPC' });
  });

  test('a page that is not exactly one page cannot be granted (programmer error)', () => {
    expect(() => new SimGrantTable().grant(GUEST, new SharedArrayBuffer(100), DOM0, { writable: true })).toThrow(RangeError);
  });

  test('a dying mapper loses its mappings: its pages throw afterwards', () => {
    const table = new SimGrantTable();
    const ref = value(table.grant(GUEST, new SabPage().buffer, DOM0, { writable: true }));
    const page = value(table.map(DOM0, GUEST, ref, { writable: true }));
    expect(table.unmapAllOf(DOM0)).toBe(1);
    expect(page.mapped).toBe(false);
    expect(() => page.loadU32(0)).toThrow(/unmapped/);
    expect(table.mapCount(GUEST, ref)).toBe(0);
  });
});

describe('SimHypervisor domains: grants through the platform-shaped calls', () => {
  test('a frontend grants, the backend maps, and closing the handles leaves nothing behind', async () => {
    const hv = new SimHypervisor();
    const guest = hv.domain(GUEST);
    const dom0 = hv.domain(DOM0);
    const page = new SabPage();
    const grant = value(await guest.grantPage(page, DOM0, { writable: true }));
    const mapped = value(await dom0.mapGrant(GUEST, grant.ref, { writable: true }));
    page.storeU32(CONSOLE_LAYOUT.IN_PROD, 9);
    expect(mapped.loadU32(CONSOLE_LAYOUT.IN_PROD)).toBe(9);
    expect(hv.accounting()).toMatchObject({ mappings: 1, grants: 1 });
    // The guest ends the grant while dom0 still maps it: deferred, not failed.
    grant.revoke();
    expect(hv.accounting()).toMatchObject({ mappings: 1, grants: 1, pendingRevokes: 1 });
    dom0.close();
    expect(mapped.mapped).toBe(false);
    guest.close();
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });

  test('mapping a grant meant for someone else fails cleanly through the handle', async () => {
    const hv = new SimHypervisor();
    const guest = hv.domain(GUEST);
    const grant = value(await guest.grantPage(new SabPage(), 5, { writable: true }));
    const result = await hv.domain(DOM0).mapGrant(GUEST, grant.ref, { writable: true });
    expect(failure(result)).toMatchObject({ kind: 'permission', code: 'EPERM' });
    expect(hv.accounting().mappings).toBe(0);
    hv.close();
  });

  test('only shared memory can be granted; a closed handle answers closed', async () => {
    const hv = new SimHypervisor();
    const guest = hv.domain(GUEST);
    expect(failure(await guest.grantPage(new PlainPage(), DOM0, { writable: true })).kind).toBe('unsupported');
    guest.close();
    expect(failure(await guest.grantPage(new SabPage(), DOM0, { writable: true })).kind).toBe('closed');
    expect(failure(await guest.mapGrant(DOM0, 8, { writable: true })).kind).toBe('closed');
  });

  test('a destroyed domain: its grants end once unmapped, and what it mapped is unmapped', async () => {
    const hv = new SimHypervisor();
    const guest = hv.domain(GUEST);
    const dom0 = hv.domain(DOM0);
    const grant = value(await guest.grantPage(new SabPage(), DOM0, { writable: true }));
    const dom0Grant = value(await dom0.grantPage(new SabPage(), GUEST, { writable: true }));
    const mappedByDom0 = value(await dom0.mapGrant(GUEST, grant.ref, { writable: true }));
    const mappedByGuest = value(await guest.mapGrant(DOM0, dom0Grant.ref, { writable: true }));
    hv.destroyDomain(GUEST);
    expect(mappedByGuest.mapped).toBe(false);
    // dom0's mapping of the dead guest's page stays valid until dom0 lets go, as in Xen.
    expect(mappedByDom0.mapped).toBe(true);
    expect(hv.accounting()).toMatchObject({ mappings: 1, pendingRevokes: 1 });
    mappedByDom0.unmap();
    dom0Grant.revoke();
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
    hv.close();
  });
});
