/**
 * `struct xencons_interface` (xen/include/public/io/console.h): one page with the two rings and
 * their free-running u32 indices. `in` carries dom0 → guest (keyboard input), `out` guest →
 * dom0 (console output).
 */
export const CONSOLE_LAYOUT = Object.freeze({
  /** Byte offset of the `in` ring's data. */
  IN: 0,
  /** Bytes in the `in` ring (a power of two). */
  IN_SIZE: 1024,
  /** Byte offset of the `out` ring's data. */
  OUT: 1024,
  /** Bytes in the `out` ring (a power of two). */
  OUT_SIZE: 2048,
  /** Byte offset of `in_cons`, the guest's read index into `in` (u32, little-endian). */
  IN_CONS: 3072,
  /** Byte offset of `in_prod`, dom0's write index into `in` (u32, little-endian). */
  IN_PROD: 3076,
  /** Byte offset of `out_cons`, dom0's read index into `out` (u32, little-endian). */
  OUT_CONS: 3080,
  /** Byte offset of `out_prod`, the guest's write index into `out` (u32, little-endian). */
  OUT_PROD: 3084,
  /** Xen >= 4.21 only: 0 connected, 1 disconnected. Absent (part of the unused page) before. */
  CONNECTION: 3088,
  /** Bytes in the shared page. */
  PAGE_SIZE: 4096,
});
