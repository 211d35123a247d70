import { read as fsRead } from 'node:fs';
import {
  FlowError,
  OK,
  StatsRecorder,
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
import { ConsoleFlow, type ConsoleParts } from './console-flow';
import { writeAllToFd } from './fd-writer';
import { checkLineEnding, type LineEnding } from './line-ending';
import { loadSerialBinding, type SerialBinding, type SerialBindingPort } from './serial-module';

/** Parity bit of each character: none, even, odd, always 1 (`mark`) or always 0 (`space`). */
export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';
/** Data bits per character. */
export type DataBits = 5 | 6 | 7 | 8;
/** Stop bits after each character. */
export type StopBits = 1 | 1.5 | 2;

/** Line settings of a serial port. */
export interface SerialSettings {
  /** Default 115200. */
  readonly baudRate: number;
  /** Default 8. */
  readonly dataBits: DataBits;
  /** Default `none`. */
  readonly parity: Parity;
  /** Default 1. */
  readonly stopBits: StopBits;
  /** Hardware flow control (RTS/CTS). Default false. */
  readonly rtscts: boolean;
  /** Software flow control: honour XON/XOFF from the device. Default false. */
  readonly xon: boolean;
  /** Software flow control: send XON/XOFF to the device. Default false. */
  readonly xoff: boolean;
}

/**
 * How `connectSerial` opens the device: the line settings (each defaults as in `SerialSettings`),
 * locking, buffering, and the binding to use.
 */
export interface SerialOptions extends Partial<SerialSettings> {
  /** What `log` appends. Default `\r\n`, as serial terminals expect. */
  readonly lineEnding?: LineEnding;
  /** Drop DTR when the port is closed (hang up the modem). Default true. */
  readonly hupcl?: boolean;
  /** Take an exclusive lock on the device. Default true. */
  readonly lock?: boolean;
  /** Largest chunk a single device read asks for. Default 64 KiB. */
  readonly readChunkSize?: number;
  /** Bytes buffered for readers before device reads stop. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** A serial binding (the `open` of `@serialport/bindings-cpp`); default: `serialport`'s. */
  readonly binding?: SerialBinding;
  /** The console's `label`, for logs. Default `serial <path> <baudRate>`. */
  readonly label?: string;
}

/** A serial port or tty device, as a console. */
export interface SerialConsole extends Console {
  /** Always `serial` for this kind of console. */
  readonly backend: 'serial';
  /** The device path the console was opened on. */
  readonly path: string;
  /** The line settings in effect, defaults filled in; `baudRate` follows `setBaudRate`. */
  readonly settings: SerialSettings;
  /** Changes the baud rate of the open port. */
  setBaudRate(baudRate: number): Promise<Result<void, FlowError>>;
}

const PARITIES: readonly Parity[] = ['none', 'even', 'odd', 'mark', 'space'];
const DATA_BITS: readonly number[] = [5, 6, 7, 8];
const STOP_BITS: readonly number[] = [1, 1.5, 2];

function checkBaudRate(baudRate: number): number {
  if (!Number.isInteger(baudRate) || baudRate < 1 || baudRate > 100_000_000) {
    throw new RangeError('baudRate must be a positive integer');
  }
  return baudRate;
}

/** Settings with defaults filled in; a value outside its set is a programmer error. */
export function serialSettings(options: Partial<SerialSettings> = {}): SerialSettings {
  const settings: SerialSettings = {
    baudRate: checkBaudRate(options.baudRate ?? 115200),
    dataBits: options.dataBits ?? 8,
    parity: options.parity ?? 'none',
    stopBits: options.stopBits ?? 1,
    rtscts: options.rtscts ?? false,
    xon: options.xon ?? false,
    xoff: options.xoff ?? false,
  };
  if (!DATA_BITS.includes(settings.dataBits)) throw new RangeError('dataBits must be 5, 6, 7 or 8');
  if (!PARITIES.includes(settings.parity)) throw new RangeError(`parity must be one of ${PARITIES.join(', ')}`);
  if (!STOP_BITS.includes(settings.stopBits)) throw new RangeError('stopBits must be 1, 1.5 or 2');
  for (const flag of ['rtscts', 'xon', 'xoff'] as const) {
    if (typeof settings[flag] !== 'boolean') throw new TypeError(`${flag} must be a boolean`);
  }
  return settings;
}

/** The binding's errors often carry no errno code, only a message: recover the kind from it. */
function mapSerialError(e: unknown, context: string): FlowError {
  const base = fromNodeError(e, context);
  if (base.kind !== 'io') return base;
  const message = String((e as { message?: unknown } | null)?.message ?? e);
  if (/No such file or directory/i.test(message)) return new FlowError('not-found', base.message, { code: 'ENOENT', cause: e });
  if (/Permission denied/i.test(message)) return new FlowError('permission', base.message, { code: 'EACCES', cause: e });
  if (/Invalid parity|not supported|unsupported/i.test(message)) return new FlowError('unsupported', base.message, { cause: e });
  if (/lock/i.test(message)) return new FlowError('in-use', base.message, { cause: e });
  if (/Input\/output error|bad file descriptor|EIO|ENXIO|EBADF/i.test(message) || base.code === 'EIO') {
    return new FlowError('reset', `${context}: the device went away (${message})`, { code: base.code ?? 'EIO', cause: e });
  }
  return base;
}

/** The binding's poller: it tells when the descriptor is readable, or that it was stopped. */
interface Poller {
  once(event: 'readable', listener: (error?: Error | null) => void): void;
}

const CANCELED = Object.assign(new Error('the serial line was closed'), { canceled: true });

function isCanceled(e: unknown): boolean {
  return (e as { canceled?: unknown } | null)?.canceled === true;
}

class SerialConsoleFlow extends ConsoleFlow implements SerialConsole {
  declare readonly backend: 'serial';
  constructor(
    parts: ConsoleParts,
    readonly path: string,
    private readonly driver: SerialDriver,
  ) {
    super(parts);
  }

  get settings(): SerialSettings {
    return this.driver.settings;
  }

  setBaudRate(baudRate: number): Promise<Result<void, FlowError>> {
    checkBaudRate(baudRate);
    return this.driver.setBaudRate(baudRate);
  }
}

/**
 * Opens a serial port or tty device (`/dev/ttyS0`, `/dev/ttyUSB0`, one end of a socat pty pair)
 * with the given line settings. Needs the optional peer dependency `serialport`, loaded on
 * first use. A serial line has no end of stream: the console reads until it is closed or the
 * device goes away.
 */
export async function connectSerial(path: string, options: SerialOptions = {}): Promise<Result<SerialConsole, FlowError>> {
  if (typeof path !== 'string' || path === '') throw new TypeError('connectSerial needs a device path');
  const settings = serialSettings(options);
  const lineEnding = checkLineEnding(options.lineEnding, '\r\n');
  const readChunkSize = options.readChunkSize ?? 64 * 1024;
  if (!Number.isInteger(readChunkSize) || readChunkSize < 1) throw new RangeError('readChunkSize must be a positive integer');
  let binding: SerialBinding;
  if (options.binding) {
    binding = options.binding;
  } else {
    const loaded = loadSerialBinding();
    if (!loaded.ok) return loaded;
    binding = loaded.value;
  }
  let device: SerialBindingPort;
  try {
    device = await binding.open({
      path,
      ...settings,
      hupcl: options.hupcl ?? true,
      lock: options.lock ?? true,
    });
  } catch (e) {
    return err(mapSerialError(e, `opening ${path}`));
  }
  const capabilities: FlowCapabilities = {
    halfCloseWrite: 'none',
    halfCloseRead: 'emulated',
    abort: 'close',
    notes: [
      'a serial line has no end of stream: shutdownWrite waits until the output was transmitted (tcdrain) and signals nothing',
      'close() does not wait for the device: it drains the output, then closes the port',
    ],
  };
  const recorder = new StatsRecorder();
  let driver: SerialDriver | undefined;
  const flow = createFlow(
    (port) => {
      driver = new SerialDriver(device, port, recorder, settings, readChunkSize, path);
      return driver;
    },
    {
      capabilities,
      label: options.label ?? `serial ${path} ${settings.baudRate}`,
      highWaterMark: options.highWaterMark,
      stats: recorder,
      closeWaitsForPeer: false,
    },
  );
  const d = driver as unknown as SerialDriver;
  return ok(new SerialConsoleFlow({ backend: 'serial', flow, lineEnding, released: () => d.released }, path, d));
}

class SerialDriver implements FlowDriver {
  readonly released: Promise<void>;
  private resolveReleased!: () => void;
  private stopped = false;
  private paused = false;
  private wakeReader: (() => void) | undefined;
  private failure: FlowError | undefined;
  private writing = false;
  private reading = false;
  private wakeCloser: (() => void) | undefined;

  constructor(
    private readonly device: SerialBindingPort,
    private readonly port: InboundPort,
    private readonly recorder: StatsRecorder,
    public settings: SerialSettings,
    private readonly readChunkSize: number,
    private readonly path: string,
  ) {
    this.released = new Promise<void>((resolve) => {
      this.resolveReleased = resolve;
    });
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    // One reused buffer; each chunk handed to readers is a right-sized copy, so that small reads
    // do not each pin a 64 KiB allocation.
    const buffer = Buffer.allocUnsafe(this.readChunkSize);
    while (!this.stopped) {
      if (this.paused) {
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
        continue;
      }
      let n: number;
      try {
        n = await this.readOnce(buffer);
      } catch (e) {
        if (!this.stopped && !isCanceled(e)) {
          this.failure = mapSerialError(e, `reading ${this.path}`);
          this.port.fail(this.failure);
        }
        return;
      }
      if (n === 0) {
        // A tty read of nothing means the line hung up (a pty whose other side closed); reading
        // again would return nothing at once, for ever.
        if (!this.stopped) {
          this.failure = new FlowError('reset', `the serial line ${this.path} hung up (a read returned no bytes)`, { code: 'EIO', syscall: 'read' });
          this.port.fail(this.failure);
        }
        return;
      }
      if (!this.stopped) this.port.push(Uint8Array.prototype.slice.call(buffer, 0, n));
    }
  }

  /**
   * One read from the line: the bytes read, or 0 when the line hung up. It reads the descriptor
   * itself and waits on the binding's poller only for EAGAIN: @serialport/bindings-cpp 13.0.0
   * retries a read that returned 0 bytes at once and for ever (a pty whose other side closed), a
   * chain of promises that grows until the process runs out of memory.
   */
  private async readOnce(buffer: Buffer): Promise<number> {
    const fd = this.device.fd;
    const poller = (this.device as { poller?: Poller }).poller;
    if (typeof fd !== 'number' || typeof poller?.once !== 'function') return (await this.device.read(buffer, 0, buffer.length)).bytesRead;
    for (;;) {
      if (this.stopped || !this.device.isOpen) throw CANCELED;
      this.reading = true;
      let failure: NodeJS.ErrnoException | undefined;
      let n = 0;
      try {
        n = await new Promise<number>((resolve, reject) => fsRead(fd, buffer, 0, buffer.length, null, (e, bytes) => (e ? reject(e) : resolve(bytes))));
      } catch (e) {
        failure = e as NodeJS.ErrnoException;
      } finally {
        this.reading = false;
        this.wakeCloser?.();
      }
      if (!failure) return n;
      if (failure.code !== 'EAGAIN' && failure.code !== 'EWOULDBLOCK' && failure.code !== 'EINTR') throw failure;
      // Nothing yet: wait until the line is readable (or closed: the poller then says canceled).
      await new Promise<void>((resolve) => poller.once('readable', () => resolve()));
    }
  }

  /**
   * Writes to the descriptor directly, retrying on EAGAIN after a short pause. The binding's own
   * write waits on its poller, and @serialport/bindings-cpp 13.0.0 re-arms that poller with only
   * the newest interest (`uv_poll_start(handle, events)` instead of the union it keeps): a write
   * waiting for room would silence a read waiting for data, and both directions stall.
   */
  private writeToDescriptor(fd: number, buffer: Uint8Array): Promise<WriteResult> {
    // A full line (flow control, a slow device) is waited out by writeAllToFd.
    return writeAllToFd(fd, buffer, {
      stopped: () => (this.stopped ? new FlowError('closed', 'the serial port is closed') : undefined),
      failed: (e) => mapSerialError(e, `writing ${this.path}`),
      flushed: (bytes) => this.recorder.recordFlushed(bytes),
      // The port's fd is never closed while a write(2) on it is in flight.
      started: () => {
        this.writing = true;
      },
      settled: () => {
        this.writing = false;
        this.wakeCloser?.();
      },
    });
  }

  async write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<WriteResult> {
    let accepted = 0;
    const fd = this.device.fd;
    for (const chunk of chunks) {
      if (this.stopped) return err(new FlowError('closed', 'the serial port is closed', { bytesAccepted: accepted }));
      if (this.failure) return err(this.failure.withBytesAccepted(accepted));
      // A write in progress cannot be recalled, so the signal is honoured between chunks.
      if (signal?.aborted) return err(new FlowError('aborted', 'aborted', { bytesAccepted: accepted }));
      if (typeof fd === 'number') {
        const r = await this.writeToDescriptor(fd, chunk);
        if (!r.ok) return err(r.error.withBytesAccepted(accepted + (r.error.bytesAccepted ?? 0)));
      } else {
        try {
          await this.device.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        } catch (e) {
          const error = isCanceled(e) || this.stopped ? new FlowError('closed', 'the serial port is closed') : mapSerialError(e, `writing ${this.path}`);
          return err(error.withBytesAccepted(accepted));
        }
        this.recorder.recordFlushed(chunk.length);
      }
      accepted += chunk.length;
    }
    return OK;
  }

  async shutdownWrite(): Promise<WriteResult> {
    if (this.stopped) return OK;
    try {
      await this.device.drain();
      return OK;
    } catch (e) {
      return err(mapSerialError(e, `draining ${this.path}`));
    }
  }

  async setBaudRate(baudRate: number): Promise<Result<void, FlowError>> {
    if (this.stopped) return err(new FlowError('closed', 'the serial port is closed'));
    try {
      await this.device.update({ baudRate });
      this.settings = { ...this.settings, baudRate };
      return OK;
    } catch (e) {
      return err(mapSerialError(e, `setting the baud rate of ${this.path}`));
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeReader?.();
    this.wakeReader = undefined;
  }

  abort(): void {
    this.stop();
  }

  release(): void {
    // The device sent no end of stream (a serial line has none): readers get EOF now.
    this.port.end();
    this.stop();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.resume();
    void (async () => {
      // Never close the descriptor under a read or write in flight: its number could be reused.
      while (this.writing || this.reading) {
        await new Promise<void>((resolve) => {
          this.wakeCloser = resolve;
        });
      }
      // Closing cancels the read in progress; the port is released once the descriptor is closed.
      if (this.device.isOpen) await this.device.close().catch(() => undefined);
      this.resolveReleased();
    })();
  }
}
