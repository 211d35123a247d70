/** Sizes fixed by the xenstore wire protocol (xen/include/public/io/xs_wire.h). */

/** `struct xsd_sockmsg { uint32_t type, req_id, tx_id, len; }`. */
export const XS_HEADER_SIZE = 16;

/**
 * The largest payload in either direction (`XENSTORE_PAYLOAD_MAX`). xenstored kills a
 * connection that sends more, and a client must not accept more from a server either.
 */
export const XENSTORE_PAYLOAD_MAX = 4096;

/** The longest absolute path (`XENSTORE_ABS_PATH_MAX`). */
export const XENSTORE_ABS_PATH_MAX = 3072;

/** The longest relative path a domain may send (`XENSTORE_REL_PATH_MAX`). */
export const XENSTORE_REL_PATH_MAX = 2048;

/** Where every domain's relative paths are rooted: `/local/domain/<domid>`. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}
