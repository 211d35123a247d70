import { setMaxListeners } from 'node:events';
import { serve, type Flow, type ServeSummary } from '@flow/core';
import type { EndpointListener } from './endpoints/endpoint';
import { onStopSignals, type StopSignal } from './signals';

export interface GracefulServerOptions {
  /** How the command calls itself in messages, e.g. `flow proxy`. */
  readonly name: string;
  readonly concurrency: number;
  /** After the first SIGINT/SIGTERM, how long live connections may go on before they are aborted. */
  readonly graceMs: number;
  /** Called once the signal handlers are in place, so that "listening" is only said when it is true. */
  readonly onReady?: () => void;
  /** Where stop orders come from: SIGINT/SIGTERM by default; a worker process takes its primary's. */
  readonly stopOrders?: (handler: (signal: StopSignal, count: number) => void) => () => void;
}

export interface GracefulServerResult {
  readonly summary: ServeSummary;
  /** Whether a signal stopped the server (rather than the listener running out, as stdio: does). */
  readonly stoppedBySignal: boolean;
}

/**
 * Runs `handler` for every flow `listener` accepts, until SIGINT or SIGTERM. The first signal
 * stops accepting at once (the listener is closed, new peers are refused) and gives live
 * connections `graceMs` to finish; then, or at a second signal, `live` aborts and the handlers
 * are expected to end their flows.
 */
export async function runGracefulServer(
  listener: EndpointListener,
  handler: (flow: Flow, live: AbortSignal) => Promise<void>,
  options: GracefulServerOptions,
): Promise<GracefulServerResult> {
  const accepting = new AbortController();
  const live = new AbortController();
  // Every live connection listens on `live` (its connect and its proxy), so more than ten is
  // normal here, not the leak Node's MaxListenersExceededWarning warns about.
  setMaxListeners(0, live.signal, accepting.signal);
  let graceTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const server = serve(listener, (flow) => handler(flow, live.signal), {
    concurrency: options.concurrency,
    signal: accepting.signal,
    onHandlerError: (error) => process.stderr.write(`${options.name}: connection failed: ${String(error)}\n`),
  });

  const dispose = (options.stopOrders ?? onStopSignals)((signal, count) => {
    if (count === 1 && !stopping) {
      stopping = true;
      accepting.abort(signal);
      void listener.close();
      process.stderr.write(
        `${options.name}: ${signal}: no longer accepting; ${server.active} live connection(s) get ${options.graceMs} ms to finish\n`,
      );
      graceTimer = setTimeout(() => {
        if (server.active > 0) process.stderr.write(`${options.name}: grace period over: aborting ${server.active} live connection(s)\n`);
        live.abort(new Error(`the ${options.graceMs} ms grace period after ${signal} ended`));
      }, options.graceMs);
    } else {
      process.stderr.write(`${options.name}: ${signal} again: aborting ${server.active} live connection(s)\n`);
      live.abort(new Error(`a second ${signal}`));
    }
  });
  options.onReady?.();

  const summary = await server.done;
  dispose();
  if (graceTimer) clearTimeout(graceTimer);
  await listener.close();
  return { summary, stoppedBySignal: stopping };
}
