import { DISPOSE_TIMEOUT_MS, type Flow } from './flow';

/**
 * What `await using` does with a flow: the close handshake bounded by `DISPOSE_TIMEOUT_MS`;
 * `close` aborts the flow itself when the bound passes. Never rejects: a dispose that threw
 * would replace the error that made the scope exit.
 */
export async function disposeFlow(flow: Flow): Promise<void> {
  try {
    await flow.close({ timeoutMs: DISPOSE_TIMEOUT_MS });
  } catch (error) {
    // Only a flow outside this library could reject; it still must not outlive its scope.
    flow.abort(error);
  }
}
