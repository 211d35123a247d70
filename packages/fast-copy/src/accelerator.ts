import { ok, type CopyAccelerator, type Result, type AcceleratedCopy, type FlowError } from '@flow/core';
import { loadFastCopyBinding } from './native/load';
import { startCopy, type CopyMode } from './start-copy';

/** How `createFastCopyAccelerator` sets the engine up for every copy it runs. */
export interface FastCopyAcceleratorOptions {
  /** The one buffer in flight per direction (default 256 KiB, `DEFAULT_BUFFER_SIZE`). */
  readonly bufferSize?: number;
  /** Default `readwrite` (measured the faster on loopback TCP). */
  readonly mode?: CopyMode;
}

/**
 * The engine as a `CopyAccelerator` of `@flow/core`: install it, and `copy`/`proxy` between
 * flows that lend their descriptor (`@flow/tcp`'s TCP and Unix-domain flows) run here.
 *
 * ```ts
 * installCopyAccelerator(fastCopyAccelerator);
 * ```
 */
export function createFastCopyAccelerator(options: FastCopyAcceleratorOptions = {}): CopyAccelerator {
  return {
    name: 'fast-copy',
    unavailable(): string | undefined {
      const loaded = loadFastCopyBinding();
      return loaded.ok ? undefined : loaded.error.message;
    },
    start(fromFd, toFd, copyOptions): Result<AcceleratedCopy, FlowError> {
      const started = startCopy(fromFd, toFd, { bufferSize: options.bufferSize, mode: options.mode, idleTimeoutMs: copyOptions.idleTimeoutMs });
      if (!started.ok) return started;
      const copy = started.value;
      return ok({
        stop: () => {
          copy.stop();
        },
        done: copy.done,
        activity: () => copy.activity(),
      });
    },
  };
}

/** The engine with its defaults, ready for `installCopyAccelerator`. */
export const fastCopyAccelerator: CopyAccelerator = createFastCopyAccelerator();
