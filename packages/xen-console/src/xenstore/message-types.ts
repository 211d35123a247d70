/**
 * The `xsd_sockmsg_type` values (xs_wire.h). Xen 4.17's header stops at DIRECTORY_PART = 22
 * (XS_TYPE_COUNT 23); GET_FEATURE..SET_QUOTA (23-26) come from Xen master. 20 was XS_RESTRICT,
 * removed; 0 is also known by its old name DEBUG.
 */
export const XsType = {
  /** 0 (once DEBUG): a command for xenstored itself, as `xenstore-control` sends. */
  CONTROL: 0,
  /** 1: the names of a node's children. */
  DIRECTORY: 1,
  /** 2: a node's value. */
  READ: 2,
  /** 3: a node's permissions. */
  GET_PERMS: 3,
  /** 4: set a watch on a path and everything below it. */
  WATCH: 4,
  /** 5: remove a watch. */
  UNWATCH: 5,
  /** 6: start a transaction; the reply carries its id. */
  TRANSACTION_START: 6,
  /** 7: commit (`T`) or abandon (`F`) a transaction. */
  TRANSACTION_END: 7,
  /** 8: tell xenstored about a new domain's ring (privileged). */
  INTRODUCE: 8,
  /** 9: tell xenstored a domain is gone (privileged). */
  RELEASE: 9,
  /** 10: a domain's home, `/local/domain/<domid>`. */
  GET_DOMAIN_PATH: 10,
  /** 11: set a node's value, creating it and missing parents. */
  WRITE: 11,
  /** 12: create a node with an empty value. */
  MKDIR: 12,
  /** 13: remove a node and everything below it. */
  RM: 13,
  /** 14: replace a node's permissions. */
  SET_PERMS: 14,
  /** 15: sent by xenstored: a watched path changed (path and token). */
  WATCH_EVENT: 15,
  /** 16: sent by xenstored: the request failed (the error name). */
  ERROR: 16,
  /** 17: whether a domain is introduced. */
  IS_DOMAIN_INTRODUCED: 17,
  /** 18: clear a domain's shutdown flag (privileged). */
  RESUME: 18,
  /** 19: let a domain act for another (a device model; privileged). */
  SET_TARGET: 19,
  /** 21: remove every watch and transaction of this connection. */
  RESET_WATCHES: 21,
  /** 22: a part of a long child list, from an offset. */
  DIRECTORY_PART: 22,
  /** 23: a domain's feature bits (Xen master). */
  GET_FEATURE: 23,
  /** 24: set a domain's feature bits (Xen master). */
  SET_FEATURE: 24,
  /** 25: quota values (Xen master). */
  GET_QUOTA: 25,
  /** 26: set a quota (Xen master). */
  SET_QUOTA: 26,
  /** 0xffff: the guard value, never a valid type. */
  INVALID: 0xffff,
} as const;

/** The name of a message type in {@link XsType}, e.g. `READ`. */
export type XsTypeName = keyof typeof XsType;
/** The number of a message type in {@link XsType}. */
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
