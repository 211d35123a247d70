import { ok, type FlowError, type Result } from '@flow/core';
import type { XsClient } from '../xenstore/client-types';

/**
 * Sets the backend's XenbusState, but only while its directory exists: a plain write would
 * create the path again after `destroyConsole` (or the toolstack) removed the console, leaving
 * a stray `state` node that `watchConsoles` would report as a console. Check and write are one
 * transaction. Resolves with whether the state was written.
 */
export async function writeBackendState(xs: XsClient, back: string, state: number): Promise<Result<boolean, FlowError>> {
  return xs.transaction(
    async (tx) => {
      const here = await tx.directory(back);
      if (!here.ok) return here.error.code === 'ENOENT' ? ok(false) : here;
      const written = await tx.write(`${back}/state`, String(state));
      return written.ok ? ok(true) : written;
    },
    { maxRetries: 4 },
  );
}
