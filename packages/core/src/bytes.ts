/**
 * A fresh copy of `view[start, end)`. `Uint8Array.prototype.slice` on a Buffer goes through
 * Buffer's species constructor and zero-fills before copying; this allocates without filling
 * (every byte is overwritten at once) and copies with one `set`.
 */
export function copyBytes(view: Uint8Array, start = 0, end = view.length): Uint8Array {
  const out = Buffer.allocUnsafe(end - start);
  out.set(start === 0 && end === view.length ? view : view.subarray(start, end));
  return out;
}
