import type { Readable } from 'node:stream';
import { fromNodeError, OK, err, type FlowError, type Result } from '@flow/core';

interface RawCapable {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export function isTTYInput(input: Readable): boolean {
  const tty = input as Readable & RawCapable;
  return tty.isTTY === true && typeof tty.setRawMode === 'function';
}

/**
 * Puts a TTY input into raw mode and puts back the mode it found, on `restore()` or when the
 * process exits (a program that dies with its terminal in raw mode leaves the user's shell
 * without echo).
 */
export class RawModeGuard {
  private previous = false;
  private entered = false;
  private readonly onExit = (): void => this.restore();

  constructor(private readonly input: Readable) {}

  get active(): boolean {
    return this.entered;
  }

  enter(): Result<void, FlowError> {
    const tty = this.input as Readable & RawCapable;
    if (typeof tty.setRawMode !== 'function') return OK;
    this.previous = tty.isRaw === true;
    try {
      tty.setRawMode(true);
    } catch (e) {
      return err(fromNodeError(e, 'setting the terminal to raw mode'));
    }
    this.entered = true;
    process.on('exit', this.onExit);
    return OK;
  }

  restore(): void {
    if (!this.entered) return;
    this.entered = false;
    process.removeListener('exit', this.onExit);
    const tty = this.input as Readable & RawCapable;
    try {
      if (!this.input.destroyed) tty.setRawMode?.(this.previous);
    } catch {
      // The terminal is gone (hung up): there is no mode left to restore.
    }
  }
}
