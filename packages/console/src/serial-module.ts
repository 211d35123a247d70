import type { FlowError, Result } from '@flow/core';
import { loadOptional } from './optional-module';

/** The options the serial binding opens a port with. */
export interface SerialOpenOptions {
  /** The device to open, e.g. `/dev/ttyS0`. */
  path: string;
  /** Line speed in bits per second. */
  baudRate: number;
  /** Data bits per character. */
  dataBits: 5 | 6 | 7 | 8;
  /** Stop bits after each character. */
  stopBits: 1 | 1.5 | 2;
  /** `none`, `even`, `odd`, `mark` or `space`. */
  parity: string;
  /** Hardware flow control (RTS/CTS). */
  rtscts: boolean;
  /** Honour XON/XOFF from the device. */
  xon: boolean;
  /** Send XON/XOFF to the device. */
  xoff: boolean;
  /** Drop DTR when the port is closed. */
  hupcl: boolean;
  /** Take an exclusive lock on the device. */
  lock: boolean;
}

/** An open port of `@serialport/bindings-cpp` (the binding layer under `serialport`). */
export interface SerialBindingPort {
  /** True from `open` until `close`. */
  readonly isOpen: boolean;
  /** The device descriptor (unix bindings). */
  readonly fd?: number | null;
  /**
   * Reads up to `length` bytes into `buffer` at `offset`, resolving once some arrived; rejects
   * with an error whose `canceled` is true when the port is closed meanwhile.
   */
  read(
    buffer: Buffer,
    offset: number,
    length: number,
  ): Promise<{
    /** The buffer that was passed in. */
    buffer: Buffer;
    /** How many bytes were read into it, from `offset`. */
    bytesRead: number;
  }>;
  /** Writes all of `buffer`; resolves once the OS took it. */
  write(buffer: Buffer): Promise<void>;
  /** Resolves once everything written was transmitted (tcdrain). */
  drain(): Promise<void>;
  /** Changes the baud rate of the open port. */
  update(options: { baudRate: number }): Promise<void>;
  /** Closes the port; a pending `read` rejects as canceled. */
  close(): Promise<void>;
}

/** What this package needs from a serial binding: `open` only (never `list`). */
export interface SerialBinding {
  /** Opens the device with `options`; rejects when it cannot (`connectSerial` maps that to a typed error). */
  open(options: SerialOpenOptions): Promise<SerialBindingPort>;
}

interface SerialPortExports {
  SerialPort: { binding: SerialBinding };
}

function isSerialPortModule(mod: unknown): mod is SerialPortExports {
  const ctor = (mod as { SerialPort?: { binding?: { open?: unknown } } } | null)?.SerialPort;
  return typeof ctor?.binding?.open === 'function';
}

let cached: Result<SerialBinding, FlowError> | undefined;

/**
 * Loads `serialport` once, on the first serial console, and takes its platform binding.
 * Reading and writing go through the binding directly: it reports when the OS took each
 * write, and nothing in it enumerates ports (`SerialPort.list()` spawns udevadm and crashes
 * where that is missing).
 */
export function loadSerialBinding(): Result<SerialBinding, FlowError> {
  if (cached?.ok) return cached;
  const loaded = loadOptional('serialport', 'the serial console', isSerialPortModule);
  cached = loaded.ok ? { ok: true, value: loaded.value.SerialPort.binding } : loaded;
  return cached;
}
