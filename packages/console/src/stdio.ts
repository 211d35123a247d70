import { fstatSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import {
  FlowError,
  OK,
  StatsRecorder,
  abortedError,
  closedError,
  createFlow,
  err,
  fromNodeError,
  ok,
  type FlowCapabilities,
  type FlowDriver,
  type InboundPort,
  type Result,
  type WriteResult,
} from '@flow/core';
import type { Console } from './console';
import { ConsoleFlow } from './console-flow';
import { checkLineEnding, type LineEnding } from './line-ending';
import { RawModeGuard, isTTYInput } from './raw-mode';

/** How `connectStdio` opens the console: its streams, raw mode, and what shutdown and release do to them. */
export interface StdioOptions {
  /** Where input comes from. Default `process.stdin`. */
  readonly input?: Readable;
  /** Where output goes. Default `process.stdout`. */
  readonly output?: Writable;
  /**
   * Put a TTY input into raw mode (bytes as typed, no echo, ^C as byte 3), restored on close,
   * disconnect and process exit. Ignored when the input is not a TTY. Default true.
   */
  readonly raw?: boolean;
  /** What `log` appends. Default `\n` (as Mirage's unix console). */
  readonly lineEnding?: LineEnding;
  /**
   * What `shutdownWrite` does to the output stream. `end`: end it (the reader sees EOF when the
   * output is a socket or a pipe this process owns alone). `keep-open`: only flush and refuse
   * later writes; the stream stays usable for the rest of the program. Default: `end` for an
   * injected stream and for a stdout that is a socket (a pipe from a Node parent), `keep-open`
   * for a stdout that is a TTY, a file or a shell pipe (ending those signals nothing).
   */
  readonly shutdown?: 'end' | 'keep-open';
  /**
   * Destroy the streams when the console is released. Default: true for injected streams,
   * false for `process.stdin` / `process.stdout`, whose descriptors are never closed.
   */
  readonly closeStreams?: boolean;
  /** Bytes buffered for readers before the input is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** The console's `label`, for logs. Default `stdio (tty)` when the input is a TTY, else `stdio`. */
  readonly label?: string;
}

/** A console on a pair of streams, by default the process's stdin and stdout. */
export interface StdioConsole extends Console {
  /** Always `stdio` for this kind of console. */
  readonly backend: 'stdio';
  /** Whether the input is a TTY. */
  readonly isTTY: boolean;
  /** Whether this console put the input into raw mode (until it is released). */
  readonly raw: boolean;
  /** The output terminal's width, when the output is a TTY. */
  readonly columns: number | undefined;
  /** The output terminal's height, when the output is a TTY. */
  readonly rows: number | undefined;
}

interface TTYSize {
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

class StdioConsoleFlow extends ConsoleFlow implements StdioConsole {
  declare readonly backend: 'stdio';
  constructor(
    parts: ConstructorParameters<typeof ConsoleFlow>[0],
    readonly isTTY: boolean,
    private readonly guard: RawModeGuard | undefined,
    private readonly output: Writable,
  ) {
    super(parts);
  }

  get raw(): boolean {
    return this.guard?.active ?? false;
  }

  get columns(): number | undefined {
    const o = this.output as Writable & TTYSize;
    return o.isTTY === true ? o.columns : undefined;
  }

  get rows(): number | undefined {
    const o = this.output as Writable & TTYSize;
    return o.isTTY === true ? o.rows : undefined;
  }
}

function descriptorIsSocket(stream: Writable): boolean {
  const fd = (stream as Writable & { fd?: unknown }).fd;
  if (typeof fd !== 'number') return false;
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/**
 * Opens a console on the process's stdin/stdout (or injected streams). Mirage's unix console,
 * with what it lacks: raw mode on a TTY, writes that wait for the stream (so large writes to a
 * slow pipe are neither lost nor buffered without bound), and EPIPE as `closed`.
 */
export async function connectStdio(options: StdioOptions = {}): Promise<Result<StdioConsole, FlowError>> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  if (input.readableObjectMode || output.writableObjectMode) {
    throw new TypeError('connectStdio needs byte streams, not object-mode streams');
  }
  const lineEnding = checkLineEnding(options.lineEnding, '\n');
  const ownStdout = output === process.stdout;
  const outputIsSocket = ownStdout ? descriptorIsSocket(output) : true;
  const shutdown = options.shutdown ?? (outputIsSocket ? 'end' : 'keep-open');
  const closeInput = options.closeStreams ?? input !== process.stdin;
  const closeOutput = options.closeStreams ?? !ownStdout;
  const isTTY = isTTYInput(input);

  let guard: RawModeGuard | undefined;
  if (isTTY && (options.raw ?? true)) {
    guard = new RawModeGuard(input);
    const entered = guard.enter();
    if (!entered.ok) return entered;
  }

  const notes: string[] = [];
  let halfCloseWrite: FlowCapabilities['halfCloseWrite'] = 'native';
  if (shutdown === 'keep-open') {
    halfCloseWrite = 'none';
    notes.push('shutdownWrite flushes and refuses later writes but leaves the output open: the reader sees no EOF');
  } else if (!outputIsSocket) {
    halfCloseWrite = 'none';
    notes.push('stdout is not a socket: ending it signals nothing until the process exits');
  }
  if (isTTY) notes.push('a TTY has no end of input in raw mode: close() does not wait for one');
  const capabilities: FlowCapabilities = { halfCloseWrite, halfCloseRead: 'emulated', abort: 'close', notes };

  let driver: StdioDriver | undefined;
  const recorder = new StatsRecorder();
  const flow = createFlow(
    (port) => {
      driver = new StdioDriver(input, output, port, recorder, {
        shutdown,
        closeInput,
        closeOutput,
        guard,
        endInputOnRelease: isTTY,
      });
      return driver;
    },
    {
      capabilities,
      label: options.label ?? (isTTY ? 'stdio (tty)' : 'stdio'),
      highWaterMark: options.highWaterMark,
      stats: recorder,
      // A raw TTY never sends an end of input; waiting for one would hang close() forever.
      closeWaitsForPeer: !isTTY,
    },
  );
  const d = driver as unknown as StdioDriver;
  return ok(
    new StdioConsoleFlow(
      { backend: 'stdio', flow, lineEnding, released: () => d.released },
      isTTY,
      guard,
      output,
    ),
  );
}

interface StdioDriverOptions {
  readonly shutdown: 'end' | 'keep-open';
  readonly closeInput: boolean;
  readonly closeOutput: boolean;
  readonly guard: RawModeGuard | undefined;
  readonly endInputOnRelease: boolean;
}

type Waiter = () => void;

class StdioDriver implements FlowDriver {
  private failure: FlowError | undefined;
  private waiters = new Set<Waiter>();
  private tornDown = false;
  private resolveReleased!: () => void;
  readonly released = new Promise<void>((resolve) => {
    this.resolveReleased = resolve;
  });

  private readonly onData = (chunk: Buffer | string): void => {
    // Always copy: an injected stream (a PassThrough) may hand out buffers it reuses.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Uint8Array.prototype.slice.call(chunk);
    if (bytes.length > 0) this.port.push(bytes);
  };
  private readonly onEnd = (): void => this.port.end();
  private readonly onInputError = (e: unknown): void => this.port.fail(fromNodeError(e, 'reading the console input'));
  // An input destroyed without an end (a closed TTY, a killed writer): nothing more comes.
  private readonly onInputClose = (): void => this.port.end();
  private readonly onOutputError = (e: unknown): void => {
    // EPIPE (the reader went away) maps to `closed`.
    this.failure ??= fromNodeError(e, 'writing the console output');
    this.wake();
  };
  private readonly onOutputClose = (): void => {
    this.failure ??= new FlowError('closed', 'the console output was closed');
    this.wake();
  };

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly port: InboundPort,
    private readonly recorder: StatsRecorder,
    private readonly options: StdioDriverOptions,
  ) {
    output.on('error', this.onOutputError);
    output.on('close', this.onOutputClose);
    input.on('error', this.onInputError);
    input.on('end', this.onEnd);
    input.on('close', this.onInputClose);
    input.on('data', this.onData);
    if (input.readableEnded) port.end();
    if (output.destroyed) this.onOutputClose();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<WriteResult> {
    const out = this.output;
    if (this.failure) return Promise.resolve(err(this.failure.withBytesAccepted(0)));
    if (out.destroyed || out.writableEnded) return Promise.resolve(err(closedError()));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    return new Promise<WriteResult>((resolve) => {
      let flushed = 0;
      let settled = false;
      const finish = (r: WriteResult): void => {
        if (settled) return;
        settled = true;
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const check = (): void => {
        if (this.failure) finish(err(this.failure.withBytesAccepted(flushed)));
      };
      const onAbort = (): void => {
        // The bytes sit in the stream's buffer and still go out: accepted, we only stop waiting.
        finish(err(abortedError(signal?.reason).withBytesAccepted(total)));
      };
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
      const cork = chunks.length > 1;
      if (cork) out.cork();
      for (const chunk of chunks) {
        const length = chunk.length;
        // Resolving from the callback (not from write()'s return value) means an accepted
        // write was handed to the OS: nothing is lost if the program exits right after.
        out.write(chunk, (e?: Error | null) => {
          if (e) {
            this.failure ??= fromNodeError(e, 'writing the console output');
            check();
            return;
          }
          flushed += length;
          this.recorder.recordFlushed(length);
          if (flushed === total) finish(OK);
        });
      }
      if (cork) out.uncork();
    });
  }

  async shutdownWrite(): Promise<WriteResult> {
    if (this.failure) return err(this.failure);
    if (this.options.shutdown === 'keep-open') return OK;
    const out = this.output;
    if (out.writableFinished) return OK;
    if (out.destroyed) return err(closedError());
    return new Promise<WriteResult>((resolve) => {
      const done = (r: WriteResult): void => {
        this.waiters.delete(check);
        out.removeListener('finish', onFinish);
        resolve(r);
      };
      const onFinish = (): void => done(OK);
      const check = (): void => {
        if (this.failure) done(err(this.failure));
      };
      this.waiters.add(check);
      out.once('finish', onFinish);
      if (!out.writableEnded) out.end();
    });
  }

  pause(): void {
    this.input.pause();
  }

  resume(): void {
    if (!this.tornDown) this.input.resume();
  }

  abort(): void {
    this.teardown();
  }

  release(): void {
    // A TTY console closes without the peer's end: readers still waiting get EOF now.
    if (this.options.endInputOnRelease) this.port.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    const { input, output } = this;
    input.removeListener('data', this.onData);
    input.removeListener('end', this.onEnd);
    input.removeListener('close', this.onInputClose);
    // Stop reading so that a paused stdin no longer keeps the event loop alive.
    input.pause();
    this.options.guard?.restore();
    output.removeListener('close', this.onOutputClose);
    if (this.options.closeInput) input.destroy();
    else input.removeListener('error', this.onInputError);
    if (this.options.closeOutput) output.destroy();
    // An error may still be on its way (EPIPE is emitted after the failed write's callback):
    // keep listening on a stream that failed, so that it cannot crash the process.
    if (!this.failure && !output.destroyed) output.removeListener('error', this.onOutputError);
    this.wake();
    this.resolveReleased();
  }
}
