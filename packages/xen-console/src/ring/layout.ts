/**
 * `struct xencons_interface` (xen/include/public/io/console.h): one page with the two rings and
 * their free-running u32 indices. `in` carries dom0 → guest (keyboard input), `out` guest →
 * dom0 (console output).
 */
export const CONSOLE_LAYOUT = Object.freeze({
  IN: 0,
  IN_SIZE: 1024,
  OUT: 1024,
  OUT_SIZE: 2048,
  IN_CONS: 3072,
  IN_PROD: 3076,
  OUT_CONS: 3080,
  OUT_PROD: 3084,
  /** Xen >= 4.21 only: 0 connected, 1 disconnected. Absent (part of the unused page) before. */
  CONNECTION: 3088,
  PAGE_SIZE: 4096,
});
