export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * Calls `handler` on each SIGINT or SIGTERM until disposed. While installed, the signals no
 * longer kill the process: the command decides how to stop.
 */
export function onStopSignals(handler: (signal: StopSignal, count: number) => void): () => void {
  let count = 0;
  const listener = (signal: StopSignal): void => {
    count += 1;
    handler(signal, count);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}
