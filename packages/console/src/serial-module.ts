import type { FlowError, Result } from '@flow/core';
import { loadOptional } from './optional-module';

/** The options the serial binding opens a port with. */
export interface SerialOpenOptions {
  path: string;
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  stopBits: 1 | 1.5 | 2;
  parity: string;
  rtscts: boolean;
  xon: boolean;
  xoff: boolean;
  hupcl: boolean;
  lock: boolean;
}

/** An open port of `@serialport/bindings-cpp` (the binding layer under `serialport`). */
export interface SerialBindingPort {
  readonly isOpen: boolean;
  /** The device descriptor (unix bindings). */
  readonly fd?: number | null;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
  drain(): Promise<void>;
  update(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
}

/** What this package needs from a serial binding: `open` only (never `list`). */
export interface SerialBinding {
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
