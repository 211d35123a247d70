/**
 * A direct transliteration of xenconsoled's acceptance rules (Xen tools/console/daemon/io.c,
 * RELEASE-4.17.5 and master c447b730: `buffer_append` and `ring_free_bytes`), over a plain page:
 * C's u32 arithmetic is `>>> 0`, `intf->out[MASK_XENCONS_IDX(cons++, intf->out)]` a byte copy.
 * Only for tests: the reference our backend's ring must agree with.
 */
const OUT = 1024;
const OUT_SIZE = 2048;
const IN_SIZE = 1024;
const IN_CONS = 3072;
const IN_PROD = 3076;
const OUT_CONS = 3080;
const OUT_PROD = 3084;

/** The outcome of one `buffer_append`: which early return was taken, or the bytes appended. */
export type BufferAppendOutcome =
  | { readonly result: 'empty' }
  | { readonly result: 'screwed' }
  | { readonly result: 'appended'; readonly bytes: Uint8Array };

export function xenconsoledBufferAppend(page: ArrayBuffer): BufferAppendOutcome {
  const view = new DataView(page);
  const data = new Uint8Array(page);
  let cons = view.getUint32(OUT_CONS, true);
  const prod = view.getUint32(OUT_PROD, true);
  // xen_mb();
  const size = (prod - cons) >>> 0;
  if (size === 0) return { result: 'empty' };
  if (size > OUT_SIZE) return { result: 'screwed' };
  const out: number[] = [];
  while (cons !== prod) {
    out.push(data[OUT + (cons & (OUT_SIZE - 1))] as number);
    cons = (cons + 1) >>> 0;
  }
  // xen_mb();
  view.setUint32(OUT_CONS, cons, true);
  return { result: 'appended', bytes: Uint8Array.from(out) };
}

/** `ring_free_bytes`: 0 when "the ring is screwed", else the free space of `in`. */
export function xenconsoledRingFreeBytes(page: ArrayBuffer): { readonly free: number; readonly screwed: boolean } {
  const view = new DataView(page);
  const cons = view.getUint32(IN_CONS, true);
  const prod = view.getUint32(IN_PROD, true);
  // xen_mb();
  const space = (prod - cons) >>> 0;
  if (space > IN_SIZE) return { free: 0, screwed: true }; /* ring is screwed: ignore it */
  return { free: IN_SIZE - space, screwed: false };
}

/**
 * `handle_tty_read` after its `read()` from the pty: at most `min(ring_free_bytes, 80)` bytes,
 * written from `in_prod` as re-read from the page, then `xen_wmb(); intf->in_prod = prod`.
 * Returns how many bytes went in (0 when the ring is full or screwed).
 */
export function xenconsoledHandleTtyRead(page: ArrayBuffer, msg: Uint8Array): number {
  let len = xenconsoledRingFreeBytes(page).free;
  if (len === 0) return 0;
  if (len > 80) len = 80; // char msg[80]
  len = Math.min(len, msg.length); // read(con->master_fd, msg, len) returns what the pty had
  if (len <= 0) return 0;
  const view = new DataView(page);
  const data = new Uint8Array(page);
  let prod = view.getUint32(IN_PROD, true);
  for (let i = 0; i < len; i++) {
    data[prod & (IN_SIZE - 1)] = msg[i] as number;
    prod = (prod + 1) >>> 0;
  }
  // xen_wmb();
  view.setUint32(IN_PROD, prod, true);
  return len;
}
