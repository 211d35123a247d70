// T3, the ABI check: a C program compiled here against libxen-dev's headers (Debian 12: Xen
// 4.17) prints the ioctl numbers, struct sizes and offsets and protocol constants; the addon's
// compiled-in constants (native/xen.c writes them out instead of including libxen) and the
// TypeScript constants must agree with them. Without libxen-dev this fails, saying what to
// install; it never skips.
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { XenbusState } from '../src/backend/paths';
import { XS_ERRORS } from '../src/xenstore/errors';
import { XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX, XS_HEADER_SIZE } from '../src/xenstore/limits';
import { XS_TYPE_COUNT_4_17, XsType } from '../src/xenstore/message-types';
import type { XenConstants } from '../src/platform/native-binding';
import { loadXenBinding } from '../src/platform/native-load';
import { LIBXEN_DEV_HINT, runCProgram } from './support/native-c-program';

/** The XS_* names of Xen 4.17's xs_wire.h (GET_FEATURE..SET_QUOTA, 23-26, exist only in Xen master). */
const XS_TYPES_4_17 = [
  'CONTROL', 'DIRECTORY', 'READ', 'GET_PERMS', 'WATCH', 'UNWATCH', 'TRANSACTION_START', 'TRANSACTION_END',
  'INTRODUCE', 'RELEASE', 'GET_DOMAIN_PATH', 'WRITE', 'MKDIR', 'RM', 'SET_PERMS', 'WATCH_EVENT', 'ERROR',
  'IS_DOMAIN_INTRODUCED', 'RESUME', 'SET_TARGET', 'RESET_WATCHES', 'DIRECTORY_PART', 'INVALID',
] as const satisfies readonly (keyof typeof XsType)[];

const XENBUS_STATES = [
  'Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured',
] as const satisfies readonly (keyof typeof XenbusState)[];

const HEADER_CHECK = `
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
typedef uint16_t domid_t; /* xen/sys/evtchn.h uses domid_t without defining it */
#include <xen/sys/gntdev.h>
#include <xen/sys/evtchn.h>
#include <xen/io/console.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

#define NUM(name, value) printf("\\"%s\\": %lu,\\n", name, (unsigned long)(value))
#define XS(name) NUM("XS_" #name, XS_##name)
#define XB(name) NUM("XenbusState" #name, XenbusState##name)

int main(void) {
  printf("{\\n");
  NUM("IOCTL_GNTDEV_MAP_GRANT_REF", IOCTL_GNTDEV_MAP_GRANT_REF);
  NUM("IOCTL_GNTDEV_UNMAP_GRANT_REF", IOCTL_GNTDEV_UNMAP_GRANT_REF);
  NUM("IOCTL_EVTCHN_BIND_INTERDOMAIN", IOCTL_EVTCHN_BIND_INTERDOMAIN);
  NUM("IOCTL_EVTCHN_BIND_UNBOUND_PORT", IOCTL_EVTCHN_BIND_UNBOUND_PORT);
  NUM("IOCTL_EVTCHN_UNBIND", IOCTL_EVTCHN_UNBIND);
  NUM("IOCTL_EVTCHN_NOTIFY", IOCTL_EVTCHN_NOTIFY);
  NUM("IOCTL_EVTCHN_RESET", IOCTL_EVTCHN_RESET);
  NUM("SIZEOF_GNTDEV_MAP_GRANT_REF", sizeof(struct ioctl_gntdev_map_grant_ref));
  NUM("OFFSETOF_GNTDEV_MAP_GRANT_REF_INDEX", offsetof(struct ioctl_gntdev_map_grant_ref, index));
  NUM("OFFSETOF_GNTDEV_MAP_GRANT_REF_REFS", offsetof(struct ioctl_gntdev_map_grant_ref, refs));
  NUM("SIZEOF_GNTDEV_GRANT_REF", sizeof(struct ioctl_gntdev_grant_ref));
  NUM("SIZEOF_GNTDEV_UNMAP_GRANT_REF", sizeof(struct ioctl_gntdev_unmap_grant_ref));
  NUM("OFFSETOF_GNTDEV_UNMAP_GRANT_REF_COUNT", offsetof(struct ioctl_gntdev_unmap_grant_ref, count));
  NUM("SIZEOF_EVTCHN_BIND_INTERDOMAIN", sizeof(struct ioctl_evtchn_bind_interdomain));
  NUM("SIZEOF_EVTCHN_BIND_UNBOUND_PORT", sizeof(struct ioctl_evtchn_bind_unbound_port));
  NUM("SIZEOF_EVTCHN_UNBIND", sizeof(struct ioctl_evtchn_unbind));
  NUM("SIZEOF_EVTCHN_NOTIFY", sizeof(struct ioctl_evtchn_notify));

  NUM("CONSOLE_IN", offsetof(struct xencons_interface, in));
  NUM("CONSOLE_IN_SIZE", sizeof(((struct xencons_interface*)0)->in));
  NUM("CONSOLE_OUT", offsetof(struct xencons_interface, out));
  NUM("CONSOLE_OUT_SIZE", sizeof(((struct xencons_interface*)0)->out));
  NUM("CONSOLE_IN_CONS", offsetof(struct xencons_interface, in_cons));
  NUM("CONSOLE_IN_PROD", offsetof(struct xencons_interface, in_prod));
  NUM("CONSOLE_OUT_CONS", offsetof(struct xencons_interface, out_cons));
  NUM("CONSOLE_OUT_PROD", offsetof(struct xencons_interface, out_prod));
  NUM("SIZEOF_XENCONS_INTERFACE", sizeof(struct xencons_interface));
  NUM("SIZEOF_XENCONS_RING_IDX", sizeof(XENCONS_RING_IDX));

  XS(CONTROL); XS(DIRECTORY); XS(READ); XS(GET_PERMS); XS(WATCH); XS(UNWATCH); XS(TRANSACTION_START);
  XS(TRANSACTION_END); XS(INTRODUCE); XS(RELEASE); XS(GET_DOMAIN_PATH); XS(WRITE); XS(MKDIR); XS(RM);
  XS(SET_PERMS); XS(WATCH_EVENT); XS(ERROR); XS(IS_DOMAIN_INTRODUCED); XS(RESUME); XS(SET_TARGET);
  XS(RESET_WATCHES); XS(DIRECTORY_PART); XS(INVALID);
  NUM("XS_TYPE_COUNT", XS_TYPE_COUNT);
  NUM("SIZEOF_XSD_SOCKMSG", sizeof(struct xsd_sockmsg));
  NUM("XENSTORE_PAYLOAD_MAX", XENSTORE_PAYLOAD_MAX);
  NUM("XENSTORE_ABS_PATH_MAX", XENSTORE_ABS_PATH_MAX);
  NUM("XENSTORE_REL_PATH_MAX", XENSTORE_REL_PATH_MAX);

  XB(Unknown); XB(Initialising); XB(InitWait); XB(Initialised); XB(Connected); XB(Closing); XB(Closed);
  XB(Reconfiguring); XB(Reconfigured);

  printf("\\"xsd_errors\\": [");
  for (size_t i = 0; i < sizeof xsd_errors / sizeof xsd_errors[0]; i++) {
    printf("%s[\\"%s\\", %d]", i ? ", " : "", xsd_errors[i].errstring, xsd_errors[i].errnum);
  }
  printf("]\\n}\\n");
  return 0;
}
`;

type HeaderValues = Record<string, number> & { readonly xsd_errors: readonly (readonly [string, number])[] };

let headers: HeaderValues;
beforeAll(() => {
  headers = JSON.parse(runCProgram(HEADER_CHECK)) as HeaderValues;
});

function addonConstants(): XenConstants {
  const loaded = loadXenBinding();
  if (!loaded.ok) throw loaded.error; // on Linux a missing addon fails, with the reason
  return loaded.value.constants;
}

test('without libxen-dev the check fails (it never skips) and says what to install', () => {
  expect(() => runCProgram('#include <xen/sys/not-installed.h>\nint main(void) { return 0; }\n')).toThrow(
    `the Xen headers are not installed (xen/sys/not-installed.h is missing): run \`${LIBXEN_DEV_HINT}\``,
  );
});

describe('the addon\'s ioctl numbers and argument layouts match xen/sys/gntdev.h and xen/sys/evtchn.h', () => {
  const names = [
    'IOCTL_GNTDEV_MAP_GRANT_REF',
    'IOCTL_GNTDEV_UNMAP_GRANT_REF',
    'IOCTL_EVTCHN_BIND_INTERDOMAIN',
    'IOCTL_EVTCHN_BIND_UNBOUND_PORT',
    'IOCTL_EVTCHN_UNBIND',
    'IOCTL_EVTCHN_NOTIFY',
    'IOCTL_EVTCHN_RESET',
    'SIZEOF_GNTDEV_MAP_GRANT_REF',
    'OFFSETOF_GNTDEV_MAP_GRANT_REF_INDEX',
    'OFFSETOF_GNTDEV_MAP_GRANT_REF_REFS',
    'SIZEOF_GNTDEV_GRANT_REF',
    'SIZEOF_GNTDEV_UNMAP_GRANT_REF',
    'OFFSETOF_GNTDEV_UNMAP_GRANT_REF_COUNT',
    'SIZEOF_EVTCHN_BIND_INTERDOMAIN',
    'SIZEOF_EVTCHN_BIND_UNBOUND_PORT',
    'SIZEOF_EVTCHN_UNBIND',
    'SIZEOF_EVTCHN_NOTIFY',
  ] as const satisfies readonly (keyof XenConstants)[];

  test.each(names)('%s', (name) => {
    expect(headers[name]).toEqual(expect.any(Number));
    expect(addonConstants()[name]).toBe(headers[name]);
  });

  test('on x86 and arm the values are the spec\'s (§7): map 0x00184700 (24 bytes), unmap 0x00104701 (16), bind 0x00084501', () => {
    if (!['x64', 'ia32', 'arm64', 'arm'].includes(process.arch)) throw new Error(`the spec's ioctl values are asm-generic's; ${process.arch} encodes them otherwise`);
    expect({
      map: headers.IOCTL_GNTDEV_MAP_GRANT_REF,
      unmap: headers.IOCTL_GNTDEV_UNMAP_GRANT_REF,
      bind: headers.IOCTL_EVTCHN_BIND_INTERDOMAIN,
      unbound: headers.IOCTL_EVTCHN_BIND_UNBOUND_PORT,
      unbind: headers.IOCTL_EVTCHN_UNBIND,
      notify: headers.IOCTL_EVTCHN_NOTIFY,
      reset: headers.IOCTL_EVTCHN_RESET,
    }).toEqual({ map: 0x00184700, unmap: 0x00104701, bind: 0x00084501, unbound: 0x00044502, unbind: 0x00044503, notify: 0x00044504, reset: 0x00004505 });
  });

  test('a pending port is a u32 (what read() returns and write() takes) and a page is 4096 bytes', () => {
    expect(addonConstants().SIZEOF_EVTCHN_PORT).toBe(4);
    expect(addonConstants().PAGE_SIZE).toBe(CONSOLE_LAYOUT.PAGE_SIZE);
    expect(addonConstants().PAGE_SIZE).toBe(4096);
  });
});

describe('src/ring/layout.ts matches struct xencons_interface in xen/io/console.h', () => {
  test('the offsets of in, out and the four indices, and the ring sizes', () => {
    expect({
      IN: headers.CONSOLE_IN,
      IN_SIZE: headers.CONSOLE_IN_SIZE,
      OUT: headers.CONSOLE_OUT,
      OUT_SIZE: headers.CONSOLE_OUT_SIZE,
      IN_CONS: headers.CONSOLE_IN_CONS,
      IN_PROD: headers.CONSOLE_IN_PROD,
      OUT_CONS: headers.CONSOLE_OUT_CONS,
      OUT_PROD: headers.CONSOLE_OUT_PROD,
    }).toEqual({
      IN: CONSOLE_LAYOUT.IN,
      IN_SIZE: CONSOLE_LAYOUT.IN_SIZE,
      OUT: CONSOLE_LAYOUT.OUT,
      OUT_SIZE: CONSOLE_LAYOUT.OUT_SIZE,
      IN_CONS: CONSOLE_LAYOUT.IN_CONS,
      IN_PROD: CONSOLE_LAYOUT.IN_PROD,
      OUT_CONS: CONSOLE_LAYOUT.OUT_CONS,
      OUT_PROD: CONSOLE_LAYOUT.OUT_PROD,
    });
    expect(headers.SIZEOF_XENCONS_RING_IDX).toBe(4);
  });

  test('the 4.17 struct ends at 3088 (no `connection` field; Xen 4.21 adds it exactly there)', () => {
    expect(headers.SIZEOF_XENCONS_INTERFACE).toBe(3088);
    expect(CONSOLE_LAYOUT.CONNECTION).toBe(headers.SIZEOF_XENCONS_INTERFACE);
  });
});

describe('src/xenstore matches xen/io/xs_wire.h', () => {
  test.each(XS_TYPES_4_17)('XS_%s', (name) => {
    expect(headers[`XS_${name}`]).toEqual(expect.any(Number));
    expect(XsType[name]).toBe(headers[`XS_${name}`]);
  });

  test('XS_TYPE_COUNT of 4.17, the header size and the payload and path limits', () => {
    expect({
      count: XS_TYPE_COUNT_4_17,
      header: XS_HEADER_SIZE,
      payload: XENSTORE_PAYLOAD_MAX,
      abs: XENSTORE_ABS_PATH_MAX,
      rel: XENSTORE_REL_PATH_MAX,
    }).toEqual({
      count: headers.XS_TYPE_COUNT,
      header: headers.SIZEOF_XSD_SOCKMSG,
      payload: headers.XENSTORE_PAYLOAD_MAX,
      abs: headers.XENSTORE_ABS_PATH_MAX,
      rel: headers.XENSTORE_REL_PATH_MAX,
    });
  });

  test('the error names of xsd_errors[], in order, with their errno values', () => {
    expect(Object.entries(XS_ERRORS)).toEqual(headers.xsd_errors);
  });
});

describe('src/backend/paths.ts matches xen/io/xenbus.h', () => {
  test.each(XENBUS_STATES)('XenbusState%s', (name) => {
    expect(XenbusState[name]).toBe(headers[`XenbusState${name}`]);
  });
});
