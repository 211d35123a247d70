import { abortedError, fromNodeError, type FlowError } from './errors';
import type { Flow } from './flow';
import type { Listener } from './listener';
import type { Result } from './result';

/** Options of {@link serve}; `F` is the flow type of the listener served. */
export interface ServeOptions<F extends Flow = Flow> {
  /** Most handlers running at once; further flows wait in the listener's backlog. Default 256. */
  readonly concurrency?: number;
  /** Stop accepting when this aborts; running handlers finish on their own. */
  readonly signal?: AbortSignal;
  /** How long the final close of a flow whose handler returned may take. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /** Told about each handler that threw or rejected (its flow is aborted). */
  readonly onHandlerError?: (error: unknown, flow: F) => void;
}

/** What a {@link Server} did, once it has stopped. */
export interface ServeSummary {
  /** Flows accepted and handed to the handler. */
  readonly accepted: number;
  /** Handlers that returned or resolved. */
  readonly succeeded: number;
  /** Handlers that threw or rejected (their flows were aborted). */
  readonly failed: number;
  /** Why accepting stopped: the listener closed, the signal aborted, or accept failed. */
  readonly stoppedBy: FlowError;
}

/** A running {@link serve} loop. */
export interface Server {
  /** Resolves when accepting stopped and every running handler finished. */
  readonly done: Promise<ServeSummary>;
  /** Flows whose handler is running. */
  readonly active: number;
  /** Stop accepting (the listener itself is not closed); resolves like `done`. */
  stop(): Promise<ServeSummary>;
}

/**
 * Runs `handler` once per incoming flow, with at most `concurrency` at a time. A handler that
 * throws or rejects gets its flow aborted; one that returns gets it closed (bounded by
 * `closeTimeoutMs`), so no flow outlives its handler.
 */
export function serve<F extends Flow>(listener: Listener<unknown, F>, handler: (flow: F) => unknown, options: ServeOptions<F> = {}): Server {
  const concurrency = options.concurrency ?? 256;
  if (!(concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const stopper = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => stopper.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  const running = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  let accepted = 0;
  let succeeded = 0;
  let failed = 0;

  const runOne = async (flow: F): Promise<void> => {
    try {
      await handler(flow);
      succeeded += 1;
      if (flow.state === 'open' || flow.state === 'closing') await flow.close({ timeoutMs: closeTimeoutMs });
    } catch (error) {
      failed += 1;
      flow.abort(fromNodeError(error, 'handler failed'));
      try {
        options.onHandlerError?.(error, flow);
      } catch {
        // A failing error callback must not take the server down.
      }
    }
  };

  const loop = async (): Promise<ServeSummary> => {
    let stoppedBy: FlowError;
    for (;;) {
      while (running.size >= concurrency) {
        await new Promise<void>((r) => (slotFreed = r));
      }
      if (stopper.signal.aborted) {
        stoppedBy = abortedError(stopper.signal.reason);
        break;
      }
      let r: Result<F, FlowError>;
      try {
        r = await listener.accept({ signal: stopper.signal });
      } catch (error) {
        // A listener that breaks the contract and rejects still ends serving with a value.
        stoppedBy = fromNodeError(error, 'accept failed');
        break;
      }
      if (!r.ok) {
        stoppedBy = r.error;
        break;
      }
      accepted += 1;
      const task = runOne(r.value).finally(() => {
        running.delete(task);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
      running.add(task);
    }
    outer?.removeEventListener('abort', onOuterAbort);
    await Promise.all([...running]);
    return { accepted, succeeded, failed, stoppedBy };
  };

  const done = loop();
  return {
    done,
    get active() {
      return running.size;
    },
    stop() {
      stopper.abort(abortedError('server stopped'));
      return done;
    },
  };
}
