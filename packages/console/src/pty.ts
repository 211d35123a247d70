import { statSync } from 'node:fs';
import {
  FlowError,
  OK,
  StatsRecorder,
  abortedError,
  closedError,
  createFlow,
  err,
  ok,
  type FlowCapabilities,
  type FlowDriver,
  type InboundPort,
  type Result,
  type WriteResult,
} from '@flow/core';
import { resolveCommand } from './command-path';
import { writeAllToFd } from './fd-writer';
import type { Console } from './console';
import { ConsoleFlow, type ConsoleParts } from './console-flow';
import { checkLineEnding, type LineEnding } from './line-ending';
import { loadPtyModule, type PtyModule, type PtyProcess } from './pty-module';
import { holdTerminal, type TerminalHold } from './terminal-hold';

/** How `connectPty` starts the program: its arguments, terminal, environment, and how it is stopped. */
export interface PtyOptions {
  /** Arguments of the program. */
  readonly args?: readonly string[];
  /** Terminal width. Default 80. */
  readonly cols?: number;
  /** Terminal height. Default 24. */
  readonly rows?: number;
  /** Working directory. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Environment. Default `process.env` (without variables of an enclosing tmux or screen). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `TERM` for the program. Default `xterm`. */
  readonly term?: string;
  /** What `log` appends. Default `\r`, what the Enter key sends. */
  readonly lineEnding?: LineEnding;
  /**
   * What `shutdownWrite` sends. `eof-char`: the terminal's EOF character (^D), twice when the
   * current line is not empty; a program reading in canonical mode then reads end of file.
   * `none`: nothing; the write side only refuses later writes. Default `eof-char`.
   */
  readonly eof?: 'eof-char' | 'none';
  /** Sent to the program's process group by `disconnect` / `abort`. Default `SIGHUP`. */
  readonly killSignal?: NodeJS.Signals;
  /** After this long without exiting, the program gets SIGKILL. Default 2000 ms. */
  readonly killTimeoutMs?: number;
  /** Bytes buffered for readers before the PTY is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** A loaded `node-pty` compatible module; default: `@lydell/node-pty`, else `node-pty`. */
  readonly module?: PtyModule;
  /** The console's `label`, for logs. Default `pty <command> (pid <pid>)`. */
  readonly label?: string;
}

/** How the program under the PTY ended. */
export interface PtyExit {
  /** The exit code node-pty reports for the program (0 for a successful exit). */
  readonly exitCode: number;
  /** The signal number that killed it, if one did. */
  readonly signal: number | undefined;
}

/** A program running under a pseudo-terminal, as a console. */
export interface PtyConsole extends Console {
  /** Always `pty` for this kind of console. */
  readonly backend: 'pty';
  /** Process id of the program; it leads its own process group, which `disconnect` and `abort` signal. */
  readonly pid: number;
  /** Current width of the terminal in columns: the `cols` option, or the last `resize`. */
  readonly cols: number;
  /** Current height of the terminal in rows: the `rows` option, or the last `resize`. */
  readonly rows: number;
  /** Changes the window size (the program gets SIGWINCH). `closed` after the program exited. */
  resize(cols: number, rows: number): Result<void, FlowError>;
  /** The exit status once the program exited. */
  readonly exit: PtyExit | undefined;
  /** Settles with the exit status when the program exits. */
  readonly exitStatus: Promise<PtyExit>;
}

const EOF_CHAR = 0x04;

function checkDimension(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`${name} must be an integer from 1 to 65535`);
  }
  return value;
}

class PtyConsoleFlow extends ConsoleFlow implements PtyConsole {
  declare readonly backend: 'pty';
  constructor(
    parts: ConsoleParts,
    private readonly driver: PtyDriver,
  ) {
    super(parts);
  }

  get pid(): number {
    return this.driver.proc.pid;
  }

  get cols(): number {
    return this.driver.proc.cols;
  }

  get rows(): number {
    return this.driver.proc.rows;
  }

  get exit(): PtyExit | undefined {
    return this.driver.exit;
  }

  get exitStatus(): Promise<PtyExit> {
    return this.driver.exitStatus;
  }

  resize(cols: number, rows: number): Result<void, FlowError> {
    checkDimension('cols', cols, 80);
    checkDimension('rows', rows, 24);
    return this.driver.resize(cols, rows);
  }
}

/**
 * Runs `command` under a new pseudo-terminal and returns it as a console: what you write is
 * typed into the terminal, what the program prints is read back (with the terminal's echo and
 * `\r\n` unless the program turns them off). The program's exit is EOF; `exitStatus` has its
 * status. Needs the optional peer dependency `@lydell/node-pty` (prebuilt) or `node-pty`, loaded
 * on first use.
 */
export async function connectPty(command: string, options: PtyOptions = {}): Promise<Result<PtyConsole, FlowError>> {
  if (typeof command !== 'string' || command === '') throw new TypeError('connectPty needs a command');
  const cols = checkDimension('cols', options.cols, 80);
  const rows = checkDimension('rows', options.rows, 24);
  const lineEnding = checkLineEnding(options.lineEnding, '\r');
  const eof = options.eof ?? 'eof-char';
  const killTimeoutMs = options.killTimeoutMs ?? 2000;
  if (!(killTimeoutMs >= 0)) throw new RangeError('killTimeoutMs must be 0 or more');
  const cwd = options.cwd ?? process.cwd();
  try {
    if (!statSync(cwd).isDirectory()) {
      return err(new FlowError('not-found', `the working directory ${cwd} is not a directory`, { code: 'ENOTDIR' }));
    }
  } catch {
    return err(new FlowError('not-found', `the working directory ${cwd} does not exist`, { code: 'ENOENT' }));
  }
  const env = options.env ?? process.env;
  const file = resolveCommand(command, env.PATH, cwd);
  if (!file.ok) return file;

  let mod: PtyModule;
  if (options.module) {
    mod = options.module;
  } else {
    const loaded = loadPtyModule();
    if (!loaded.ok) return loaded;
    mod = loaded.value;
  }

  let proc: PtyProcess;
  try {
    proc = mod.spawn(file.value, [...(options.args ?? [])], {
      name: options.term ?? 'xterm',
      cols,
      rows,
      cwd,
      // node-pty strips an enclosing tmux/screen's variables only when given process.env itself.
      env: env as { [key: string]: string | undefined },
      // Bytes, not strings: a console carries binary data, and a UTF-8 decoder would mangle it.
      encoding: null,
    });
  } catch (e) {
    return err(new FlowError('io', `spawning ${file.value} under a PTY failed: ${(e as Error).message}`, { cause: e }));
  }
  // At once, before node-pty can read from the master: see terminal-hold.ts.
  const hold = holdTerminal((proc as PtyProcess & { ptsName?: unknown }).ptsName, proc.pid);

  const capabilities: FlowCapabilities = {
    halfCloseWrite: eof === 'eof-char' ? 'emulated' : 'none',
    halfCloseRead: 'emulated',
    abort: 'close',
    notes: [
      eof === 'eof-char'
        ? 'a PTY has no half-close: shutdownWrite types the EOF character (^D), which ends input only for a program reading in canonical mode'
        : 'a PTY has no half-close: shutdownWrite sends nothing',
      'the end of the program is the end of stream; abort sends the kill signal to its process group',
    ],
  };
  const recorder = new StatsRecorder();
  let driver: PtyDriver | undefined;
  const flow = createFlow(
    (port) => {
      driver = new PtyDriver(proc, hold, port, recorder, eof, options.killSignal ?? 'SIGHUP', killTimeoutMs);
      return driver;
    },
    {
      capabilities,
      label: options.label ?? `pty ${command} (pid ${proc.pid})`,
      highWaterMark: options.highWaterMark,
      stats: recorder,
    },
  );
  const d = driver as unknown as PtyDriver;
  return ok(new PtyConsoleFlow({ backend: 'pty', flow, lineEnding, released: () => d.released }, d));
}

function isLineEnd(byte: number | undefined): boolean {
  return byte === undefined || byte === 0x0a || byte === 0x0d;
}

class PtyDriver implements FlowDriver {
  exit: PtyExit | undefined;
  readonly exitStatus: Promise<PtyExit>;
  readonly released: Promise<void>;
  private resolveExit!: (e: PtyExit) => void;
  private readonly fd: number | undefined;
  /** Once set, the descriptor may be closed or reused: never write to it again. */
  private fdDead = false;
  private lastByte: number | undefined;
  private tornDown = false;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: { dispose(): void }[] = [];

  constructor(
    readonly proc: PtyProcess,
    private readonly hold: TerminalHold | undefined,
    private readonly port: InboundPort,
    private readonly recorder: StatsRecorder,
    private readonly eof: 'eof-char' | 'none',
    private readonly killSignal: NodeJS.Signals,
    private readonly killTimeoutMs: number,
  ) {
    this.exitStatus = new Promise<PtyExit>((resolve) => {
      this.resolveExit = resolve;
    });
    this.released = this.exitStatus.then(() => undefined);
    // node-pty's writer queues without bound and reports nothing back; writing to the master
    // descriptor directly lets a write resolve when the kernel took the bytes.
    const fd = (proc as PtyProcess & { fd?: unknown }).fd;
    this.fd = typeof fd === 'number' && fd >= 0 ? fd : undefined;
    const on = (proc as PtyProcess & { on?: unknown }).on;
    if (typeof on === 'function') {
      // node-pty emits 'close' when it closed the master descriptor.
      on.call(proc, 'close', () => {
        this.fdDead = true;
        this.hold?.release();
      });
      // Told of the exit while the master is still open (as it always is while we hold the
      // slave), node-pty waits for the master's 'close' before it reports the exit: adding that
      // listener is our cue that the program is gone, and letting go of the slave brings the
      // 'close'. Otherwise node-pty closes the master on its own after 200 ms.
      if (hold) {
        on.call(proc, 'newListener', (event: unknown) => {
          if (event === 'close') hold.releaseIfExited();
        });
      }
    }
    this.subscriptions.push(
      proc.onData((data) => {
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        if (bytes.length > 0) port.push(bytes);
      }),
      proc.onExit((e) => this.onExit(e)),
    );
  }

  private onExit(e: { exitCode: number; signal?: number }): void {
    this.fdDead = true;
    this.hold?.release();
    this.exit = { exitCode: e.exitCode, signal: e.signal ? e.signal : undefined };
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
    // node-pty reports the exit only after the terminal's output was drained: this is EOF.
    this.port.end();
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.resolveExit(this.exit);
  }

  private exitedError(): FlowError {
    return new FlowError('closed', 'the program under the PTY has exited');
  }

  /** Writes all of `buffer` to the master descriptor, waiting out a full terminal buffer. */
  private writeAll(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<WriteResult> {
    const fd = this.fd;
    if (fd === undefined) {
      this.proc.write(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length));
      return Promise.resolve(OK);
    }
    // A full terminal buffer means the program is not reading yet: writeAllToFd waits it out.
    return writeAllToFd(fd, buffer, {
      stopped: () => {
        if (this.fdDead || this.exit) return this.exitedError();
        if (this.tornDown) return closedError();
        if (signal?.aborted) return abortedError(signal.reason);
        return undefined;
      },
      failed: (e) => {
        // EIO: the terminal's other side is closed (the program is gone).
        this.fdDead = true;
        return new FlowError('closed', `writing to the PTY failed: ${e.message}`, { code: e.code, cause: e });
      },
      flushed: (bytes) => this.recorder.recordFlushed(bytes),
    });
  }

  async write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<WriteResult> {
    let accepted = 0;
    for (const chunk of chunks) {
      const r = await this.writeAll(chunk, signal);
      if (!r.ok) return err(r.error.withBytesAccepted(accepted + (r.error.bytesAccepted ?? 0)));
      accepted += chunk.length;
      this.lastByte = chunk[chunk.length - 1];
    }
    return OK;
  }

  async shutdownWrite(): Promise<WriteResult> {
    if (this.eof === 'none' || this.exit) return OK;
    // In canonical mode ^D hands over the pending line; only a ^D at the start of a line reads
    // as end of file, so a line in progress needs two.
    const eofChars = isLineEnd(this.lastByte) ? [EOF_CHAR] : [EOF_CHAR, EOF_CHAR];
    const r = await this.writeAll(Uint8Array.from(eofChars), undefined);
    // The program may have exited meanwhile: then there is nothing left to signal.
    return r.ok || this.exit ? OK : r;
  }

  resize(cols: number, rows: number): Result<void, FlowError> {
    if (this.exit || this.tornDown) return err(this.exitedError());
    try {
      this.proc.resize(cols, rows);
      return OK;
    } catch (e) {
      return err(new FlowError('io', `resizing the PTY failed: ${(e as Error).message}`, { cause: e }));
    }
  }

  pause(): void {
    if (!this.exit) this.proc.pause();
  }

  resume(): void {
    if (!this.exit) this.proc.resume();
  }

  abort(): void {
    this.teardown();
  }

  release(): void {
    this.teardown();
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      // The program leads its own session under the PTY: signal the whole group, so that its
      // children do not outlive it.
      process.kill(-this.proc.pid, signal);
    } catch {
      try {
        this.proc.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    if (this.exit) return;
    this.proc.resume();
    this.signalGroup(this.killSignal);
    this.killTimer = setTimeout(() => {
      this.killTimer = undefined;
      if (!this.exit) this.signalGroup('SIGKILL');
    }, this.killTimeoutMs);
  }
}
