import { write as fsWrite } from 'node:fs';
import { err, OK, type FlowError, type WriteResult } from '@flow/core';

/** Longest pause between retries of a write the descriptor refused for lack of room. */
const MAX_WRITE_BACKOFF_MS = 8;

export interface FdWriteHooks {
  /** Asked before every attempt: a reason to stop now (closed, exited, aborted), given the bytes written so far. */
  readonly stopped: (written: number) => FlowError | undefined;
  /** Maps a write error other than EAGAIN/EINTR, given the bytes written so far. */
  readonly failed: (error: NodeJS.ErrnoException, written: number) => FlowError;
  /** Bytes the descriptor took. */
  readonly flushed: (bytes: number) => void;
  /** Around each `write(2)` in flight, for owners that must not close the fd meanwhile. */
  readonly started?: () => void;
  readonly settled?: () => void;
}

/**
 * Writes all of `buffer` to a non-blocking descriptor (a PTY master, a tty device), retrying
 * after a short, growing pause when it is full (EAGAIN): the other side is not reading yet.
 */
export function writeAllToFd(fd: number, buffer: Uint8Array, hooks: FdWriteHooks): Promise<WriteResult> {
  return new Promise<WriteResult>((resolve) => {
    let offset = 0;
    let backoff = 0;
    const attempt = (): void => {
      const stop = hooks.stopped(offset);
      if (stop) return resolve(err(stop.withBytesAccepted(offset)));
      hooks.started?.();
      fsWrite(fd, buffer, offset, buffer.length - offset, null, (e, written) => {
        hooks.settled?.();
        if (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EINTR') {
            backoff = Math.min(MAX_WRITE_BACKOFF_MS, backoff + 1);
            setTimeout(attempt, backoff);
            return;
          }
          return resolve(err(hooks.failed(e, offset).withBytesAccepted(offset)));
        }
        backoff = 0;
        offset += written;
        hooks.flushed(written);
        if (offset >= buffer.length) resolve(OK);
        else attempt();
      });
    };
    attempt();
  });
}
