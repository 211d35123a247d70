import type { FlowError } from './errors';
import type { Result } from './result';

/**
 * A copy engine that moves bytes between two kernel descriptors without running JavaScript per
 * chunk (such as `@flow/fast-copy`'s). `@flow/core` never imports one: a program installs it
 * (`installCopyAccelerator`) or passes it per call, and `copy`/`proxy` use it when both flows can
 * lend their descriptor. The engine only moves bytes; `copy` keeps the contract around it (the
 * bytes a flow had read ahead go first, EOF becomes a half-close, errors are recorded in the
 * flows, statistics are counted, the flows are usable afterwards).
 */
export interface CopyAccelerator {
  /** For messages, e.g. `fast-copy`. */
  readonly name: string;
  /** Why the engine cannot run in this process (native part missing, other OS), or undefined. */
  unavailable(): string | undefined;
  /**
   * Starts copying `fromFd` to `toFd`, both lent for the whole copy: the engine must not close
   * them, nor shut the destination down at EOF (the caller does the half-close). An error value
   * (its message one line) declines, and the copy then runs on the pure path.
   */
  start(fromFd: number, toFd: number, options: AcceleratedCopyOptions): Result<AcceleratedCopy, FlowError>;
}

/** What `CopyAccelerator.start` is asked to do beyond moving bytes. */
export interface AcceleratedCopyOptions {
  /** End with a `timeout` error when nothing was read or written for this long. */
  readonly idleTimeoutMs?: number;
}

/** A running engine copy. */
export interface AcceleratedCopy {
  /** Ends the copy synchronously: nothing is read or written after it returns. `done` then settles with `stopped`. */
  stop(): void;
  /** Settles once with how the copy ended; never rejects. */
  readonly done: Promise<AcceleratedCopyEnd>;
  /** A count that grows whenever bytes were read or written (lets one idle timer span several copies). */
  activity(): number;
}

/** How an accelerated copy ended, with exact counts. */
export interface AcceleratedCopyEnd {
  /** `eof`: the source ended and every byte read was written. */
  readonly outcome: 'eof' | 'error' | 'stopped';
  /** Bytes written to the destination. */
  readonly bytes: number;
  /** System calls that took bytes from the source. */
  readonly reads: number;
  /** System calls that gave bytes to the destination. */
  readonly writes: number;
  /** Set for `error`: the idle timeout is a `timeout` error without `failedSide`. */
  readonly error?: FlowError;
  /** For `error`: whether reading the source or writing the destination failed. */
  readonly failedSide?: 'read' | 'write';
  /** Bytes read and not written (after a stop or a failed write). */
  readonly unwritten: Uint8Array;
}

let installed: CopyAccelerator | undefined;

/**
 * Installs `accelerator` for every later `copy` and `proxy` in this process that does not pass
 * its own (`undefined` uninstalls it). Returns the one installed before.
 */
export function installCopyAccelerator(accelerator: CopyAccelerator | undefined): CopyAccelerator | undefined {
  const before = installed;
  installed = accelerator;
  return before;
}

/** The accelerator `copy` and `proxy` use when their options name none. */
export function installedCopyAccelerator(): CopyAccelerator | undefined {
  return installed;
}
