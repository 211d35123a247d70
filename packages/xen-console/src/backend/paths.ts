/** Where a console's nodes live in xenstore (docs/misc/console.txt, libxl, mirage's Conproto). */

/** The guest's side: `/local/domain/D/console` for the primary console, else `device/console/N`. */
export function frontendPath(domid: number, devid: number): string {
  return devid === 0 ? `/local/domain/${domid}/console` : `/local/domain/${domid}/device/console/${devid}`;
}

/** Our side: `/local/domain/B/backend/<name>/D/N`. */
export function backendPath(backendDomid: number, backendName: string, domid: number, devid: number): string {
  return `/local/domain/${backendDomid}/backend/${backendName}/${domid}/${devid}`;
}

/** XenbusState (xen/include/public/io/xenbus.h). */
export const XenbusState = Object.freeze({
  /** 0: no state written yet. */
  Unknown: 0,
  /** 1: the device is being set up (the backend's first state). */
  Initialising: 1,
  /** 2: waiting for the other end's details (ring reference and port). */
  InitWait: 2,
  /** 3: the frontend has published its ring and port. */
  Initialised: 3,
  /** 4: both ends run the ring. */
  Connected: 4,
  /** 5: this end wants to close; the other should follow. */
  Closing: 5,
  /** 6: this end is closed and released everything. */
  Closed: 6,
  /** 7: the device is being reconfigured (not used by consoles). */
  Reconfiguring: 7,
  /** 8: reconfiguration is done (not used by consoles). */
  Reconfigured: 8,
});

/** Checks a domain id given by a caller: a programmer error throws. */
export function checkDomid(domid: unknown, what = 'domid'): number {
  if (typeof domid !== 'number' || !Number.isInteger(domid) || domid < 0 || domid > 0x7fef) {
    throw new RangeError(`${what} must be an integer from 0 to 32751, got ${String(domid)}`);
  }
  return domid;
}

/**
 * Checks a console device id. Linux's hvc_xen takes the devid from the last character of the
 * node name, so only 1-9 work for secondary consoles; 0 is the primary console.
 */
export function checkDevid(devid: unknown): number {
  if (typeof devid !== 'number' || !Number.isInteger(devid) || devid < 0 || devid > 9) {
    throw new RangeError(`devid must be 0 (the primary console) or 1-9 (Linux guests parse one digit), got ${String(devid)}`);
  }
  return devid;
}
