import { connect as netConnect, type Socket } from 'node:net';
import { abortedError, err, ok, type FlowError, type Result } from '@flow/core';

/** Where to connect, under which deadline, and how to word the failures. */
export interface DialSpec {
  readonly path: string;
  /** One deadline for connect and handshake together; undefined or Infinity for none. */
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** A failed connect(2) (ENOENT, ECONNREFUSED, EACCES...) as an error that names the socket. */
  readonly connectError: (error: unknown) => FlowError;
  /** The deadline passed; `connected` says whether the handshake had started. */
  readonly timeoutError: (connected: boolean, ms: number) => FlowError;
}

/**
 * What runs on the socket once it is connected: the transport's request and reply. `start`
 * calls `finish` exactly once; before finishing with a flow it must detach its own listeners
 * (the flow takes the socket over).
 */
export interface Handshake<T> {
  start(socket: Socket, finish: (result: Result<T, FlowError>) => void): void;
  /** An 'error' event during the handshake, as the error to report. */
  socketError(error: unknown): FlowError;
  /** Detaches what `start` attached. Idempotent; called on every failure. */
  stop(): void;
}

/**
 * Connects a Unix socket and runs `handshake` on it. Every failure (connect error, handshake
 * error, deadline, signal) destroys the socket and resolves with the error; an 'error' event is
 * never left unhandled, and no socket outlives a failed attempt.
 */
export function dialUnix<T>(spec: DialSpec, handshake: Handshake<T>): Promise<Result<T, FlowError>> {
  const { signal, timeoutMs } = spec;
  if (signal?.aborted) return Promise.resolve(err(abortedError(signal.reason)));
  return new Promise((resolve) => {
    const socket = netConnect({ path: spec.path, allowHalfOpen: true });
    let connected = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const detach = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      if (connected) handshake.stop();
    };
    const fail = (e: FlowError): void => {
      if (settled) return;
      settled = true;
      detach();
      // Errors after this are irrelevant; the fd must not outlive the attempt.
      socket.on('error', () => undefined);
      socket.destroy();
      socket.off('error', onError);
      resolve(err(e));
    };
    const finish = (r: Result<T, FlowError>): void => {
      if (!r.ok) return fail(r.error);
      if (settled) return;
      settled = true;
      detach();
      resolve(ok(r.value));
      // Removed only now: until the flow took over, an 'error' must never be unhandled.
      socket.off('error', onError);
    };
    const onError = (e: unknown): void => fail(connected ? handshake.socketError(e) : spec.connectError(e));
    const onAbort = (): void => fail(abortedError(signal?.reason));
    const onConnect = (): void => {
      connected = true;
      handshake.start(socket, finish);
    };
    socket.once('connect', onConnect);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    // setTimeout would turn Infinity into 1 ms.
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => fail(spec.timeoutError(connected, timeoutMs)), timeoutMs);
    }
  });
}
