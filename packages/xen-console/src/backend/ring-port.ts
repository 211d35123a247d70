import { BackendRing } from '../ring/backend-ring';
import { CONSOLE_LAYOUT } from '../ring/layout';
import type { MappedPage } from '../ring/memory';
import type { BackendRingPort } from './console-driver';

/**
 * The backend's side of a freshly mapped console page. It adopts the indices already on the
 * page (a Linux guest zeroes the page; after a resume it may not be zero), and marks the page
 * connected: the `connection` byte of Xen >= 4.21 is 0 when connected, and on an older page
 * that byte is unused padding, which a zeroed page already holds as 0.
 */
export function openBackendRing(page: MappedPage): BackendRingPort {
  page.writeBytes(CONSOLE_LAYOUT.CONNECTION, ZERO);
  const ring = new BackendRing(page);
  return {
    get usable() {
      return page.mapped;
    },
    takeOutput(max) {
      const r = ring.read(max);
      return { bytes: r.bytes, notify: r.notify, corrupt: r.corrupt?.message };
    },
    putInput(data) {
      const r = ring.write(data);
      return { written: r.written, notify: r.notify, corrupt: r.corrupt?.message };
    },
    unreadInput() {
      const space = ring.space();
      return { bytes: CONSOLE_LAYOUT.IN_SIZE - space.bytes, corrupt: space.corrupt?.message };
    },
  };
}

const ZERO = new Uint8Array(1);
