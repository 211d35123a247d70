import { closedError, fromNodeError, type FlowError } from '../errors';
import { createFlow, type FlowDriver } from '../driver-flow';
import type { Flow, FlowCapabilities } from '../flow';
import { err, OK } from '../result';

/**
 * Fills `buffer` with up to `buffer.length` bytes and returns how many; 0 means end of input.
 * For output: drains up to `buffer.length` bytes and returns how many; 0 means "full, closed".
 */
export type Refill = (buffer: Uint8Array) => number | Promise<number>;

/** Options of {@link functionFlow}. */
export interface FunctionFlowOptions {
  /** Where reads come from. Without it the flow starts at EOF. */
  readonly input?: Refill;
  /** Where writes go. Without it every write returns `closed`. */
  readonly output?: Refill;
  /** Called once, when the flow is released (closed or aborted). */
  readonly onRelease?: () => void;
  /** Size of each read buffer. Default 4096, as mirage's `F`. */
  readonly bufferSize?: number;
  /** The flow's `label` for logs. Default `'function-flow'`. */
  readonly label?: string;
}

const FUNCTION_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'emulated',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: ['in-memory flow made of refill functions; there is no peer to signal'],
});

/**
 * A flow made of functions, like mirage's `F.make`: reads call `input`, writes call `output`
 * until the whole buffer went out. Unlike `F`, every read returns a fresh buffer, `onRelease`
 * runs once, and a partial write reports how many bytes were accepted.
 */
export function functionFlow(options: FunctionFlowOptions): Flow {
  const { input, output, onRelease } = options;
  const bufferSize = options.bufferSize ?? 4096;
  if (!(bufferSize >= 1)) throw new RangeError('bufferSize must be at least 1');
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    onRelease?.();
  };
  return createFlow(
    (port): FlowDriver => {
      let paused = false;
      let pumping = false;
      let stopped = false;
      const pump = async (): Promise<void> => {
        if (pumping || !input) return;
        pumping = true;
        try {
          while (!paused && !stopped) {
            const buffer = new Uint8Array(bufferSize);
            const n = await input(buffer);
            if (stopped) break;
            if (!(n > 0)) {
              port.end();
              stopped = true;
              break;
            }
            port.push(buffer.subarray(0, Math.min(n, bufferSize)));
          }
        } catch (cause) {
          port.fail(toIoError(cause));
          stopped = true;
        } finally {
          pumping = false;
        }
      };
      if (!input) port.end();
      else queueMicrotask(() => void pump());
      return {
        async write(chunks) {
          if (!output) return err(closedError());
          let accepted = 0;
          for (const chunk of chunks) {
            let offset = 0;
            while (offset < chunk.length) {
              let n: number;
              try {
                n = await output(chunk.subarray(offset));
              } catch (cause) {
                return err(toIoError(cause).withBytesAccepted(accepted));
              }
              if (!(n > 0)) return err(closedError(accepted));
              // A refill that claims more than it was given moved only what it was given.
              const moved = Math.min(n, chunk.length - offset);
              offset += moved;
              accepted += moved;
            }
          }
          return OK;
        },
        async shutdownWrite() {
          return OK;
        },
        shutdownRead() {
          stopped = true;
          port.end();
        },
        pause() {
          paused = true;
        },
        resume() {
          paused = false;
          void pump();
        },
        abort() {
          stopped = true;
          release();
        },
        release,
      };
    },
    { capabilities: FUNCTION_CAPABILITIES, label: options.label ?? 'function-flow',
      highWaterMark: 64 * 1024,
      // There is no peer whose close we could wait for.
      closeWaitsForPeer: false,
      // Without an output function there is no write side (mirage's `F` starts it closed).
      writeClosed: output === undefined,
    },
  );
}

function toIoError(cause: unknown): FlowError {
  return fromNodeError(cause, 'refill function failed');
}
