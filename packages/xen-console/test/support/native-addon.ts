// The built addon for tests: the binding (a missing addon fails the test, with the reason), its
// path for child processes, and FIFOs as stand-ins for descriptors that deliver port numbers.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { XenBinding } from '../../src/platform/native-binding';
import { loadXenBinding } from '../../src/platform/native-load';
import { locateXenAddon } from '../../src/platform/native-locate';

export function xen(): XenBinding {
  const loaded = loadXenBinding();
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

export function addonPath(): string {
  const located = locateXenAddon();
  if (!located.ok) throw located.error;
  return located.value.path;
}

/** One turn of the event loop (libuv's close callbacks and napi finalizers run on later turns). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface ChildOutcome {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a Node script in a child process that has the addon's path as `ADDON`. Tests that change
 * the addon's per-thread state (the device paths) or that end a process run there.
 */
export function runChild(script: string, nodeArgs: readonly string[] = []): ChildOutcome {
  const run = spawnSync(process.execPath, [...nodeArgs, '-e', `const ADDON = ${JSON.stringify(addonPath())};\n${script}`], {
    encoding: 'utf8',
    timeout: 60_000, // a hang (a handle keeping the loop alive) fails instead of stalling the suite
  });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

export interface Fifo {
  readonly file: string;
  /** The read end, non-blocking. */
  readonly reader: number;
  /** The write end, non-blocking. */
  readonly writer: number;
  /** Writes each port as a host-endian u32, in one write (atomic: at most PIPE_BUF bytes). */
  writePorts(ports: readonly number[]): void;
  cleanup(): void;
}

/** A FIFO in a temp dir, with both ends open non-blocking. */
export function fifo(): Fifo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xen-console-fifo-'));
  const file = path.join(dir, 'fifo');
  execFileSync('mkfifo', [file]);
  const reader = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const closeQuietly = (fd: number): void => {
    try {
      fs.closeSync(fd);
    } catch {
      // closed by the test already
    }
  };
  return {
    file,
    reader,
    writer,
    writePorts: (ports) => void fs.writeSync(writer, portBytes(ports)),
    cleanup: () => {
      closeQuietly(reader);
      closeQuietly(writer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Port numbers as /dev/xen/evtchn's read() gives them: host-endian u32s. */
export function portBytes(ports: readonly number[]): Buffer {
  return Buffer.from(new Uint32Array(ports).buffer);
}

/** The descriptors of this process: fd -> what it is ("pipe:[inode]", a path, ...). */
export function openDescriptors(): Map<string, string> {
  const fds = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      fds.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed while listing (readdir's own descriptor)
    }
  }
  return fds;
}
