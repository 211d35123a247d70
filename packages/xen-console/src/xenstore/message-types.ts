/**
 * The `xsd_sockmsg_type` values (xs_wire.h). Xen 4.17's header stops at DIRECTORY_PART = 22
 * (XS_TYPE_COUNT 23); GET_FEATURE..SET_QUOTA (23-26) come from Xen master. 20 was XS_RESTRICT,
 * removed; 0 is also known by its old name DEBUG.
 */
export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
  INVALID: 0xffff,
} as const;

export type XsTypeName = keyof typeof XsType;
export type XsTypeCode = (typeof XsType)[XsTypeName];

/** `XS_TYPE_COUNT` in Xen 4.17's xs_wire.h (Debian 12). */
export const XS_TYPE_COUNT_4_17 = 23;
/** `XS_TYPE_COUNT` in Xen master's xs_wire.h. */
export const XS_TYPE_COUNT_MASTER = 27;

const namesByCode = new Map<number, XsTypeName>(
  (Object.keys(XsType) as XsTypeName[]).map((name) => [XsType[name], name] as const),
);

/** The name of a type code, or undefined for a code no Xen version defines. */
export function xsTypeName(code: number): XsTypeName | undefined {
  return namesByCode.get(code);
}

/** A printable name for logs and error messages, also for unknown codes. */
export function describeXsType(code: number): string {
  return xsTypeName(code) ?? `unknown type ${code}`;
}
