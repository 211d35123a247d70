/**
 * A direct transliteration of the Linux frontend's ring rules (drivers/tty/hvc/hvc_xen.c at
 * 00c1d298, `domU_read_console` and `__write_console`, hardened by 728389c2 "harden hvc_xen
 * against event channel storms" and the -EINVAL "Illegal ring page indices" checks), over a plain
 * page. Only for tests: the reference our frontend's ring must agree with.
 */
const IN = 0;
const IN_SIZE = 1024;
const OUT = 1024;
const OUT_SIZE = 2048;
const IN_CONS = 3072;
const IN_PROD = 3076;
const OUT_CONS = 3080;
const OUT_PROD = 3084;

export const EINVAL = -22;

/** `domU_read_console(vtermno, buf, len)`: the bytes received, or -EINVAL. */
export function hvcReadConsole(page: ArrayBuffer, len: number): Uint8Array | typeof EINVAL {
  const view = new DataView(page);
  const data = new Uint8Array(page);
  let cons = view.getUint32(IN_CONS, true);
  const prod = view.getUint32(IN_PROD, true);
  // mb();  /* get pointers before reading ring */
  if ((prod - cons) >>> 0 > IN_SIZE) return EINVAL; // pr_err_once("xencons: Illegal ring page indices")
  const buf: number[] = [];
  while (cons !== prod && buf.length < len) {
    buf.push(data[IN + (cons & (IN_SIZE - 1))] as number);
    cons = (cons + 1) >>> 0;
  }
  // mb();  /* read ring before consuming */
  view.setUint32(IN_CONS, cons, true);
  return Uint8Array.from(buf);
}

/** `__write_console(xencons, data, len)`: the count sent, or -EINVAL. */
export function hvcWriteConsole(page: ArrayBuffer, source: Uint8Array): number {
  const view = new DataView(page);
  const data = new Uint8Array(page);
  const cons = view.getUint32(OUT_CONS, true);
  let prod = view.getUint32(OUT_PROD, true);
  // mb();  /* update queue values before going on */
  if ((prod - cons) >>> 0 > OUT_SIZE) return EINVAL;
  let sent = 0;
  while (sent < source.length && (prod - cons) >>> 0 < OUT_SIZE) {
    data[OUT + (prod & (OUT_SIZE - 1))] = source[sent++] as number;
    prod = (prod + 1) >>> 0;
  }
  // wmb();  /* write ring before updating pointer */
  view.setUint32(OUT_PROD, prod, true);
  return sent;
}
