import { closeSync, constants, openSync, readFileSync } from 'node:fs';

/**
 * A descriptor of a PTY's slave side, held open in this process until the program under the
 * terminal has exited, so that the terminal is not hung up while the program still runs.
 *
 * Why: Linux fails a read from the master with EIO as soon as the last descriptor of the slave
 * side is closed, and node-pty (its socket's 'error' handler) then closes the master. Closing the
 * master hangs up the terminal: the kernel sends SIGHUP to the session leader. A program that
 * closes its standard descriptors before it exits (cat does: coreutils closes them to check for
 * write errors) is still running at that moment, so it can die of that SIGHUP instead of exiting
 * with its own status. While this process holds the slave open, the master reads no EIO; once
 * the program is gone we let go, the master drains, reads EIO and closes, hanging up nobody.
 */
export interface TerminalHold {
  /** Lets go if the program has exited (a zombie not reaped yet, or no such process any more). */
  releaseIfExited(): void;
  /** Closes the held descriptor (once; later calls do nothing). */
  release(): void;
}

/** False once the process exited: a zombie (not reaped yet), or no such process any more. */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) state ...": comm may contain spaces and parentheses, so look after the last ')'.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== 'Z' && state !== 'X';
}

class HeldTerminal implements TerminalHold {
  private fd: number | undefined;

  constructor(
    fd: number,
    private readonly pid: number,
  ) {
    this.fd = fd;
  }

  releaseIfExited(): void {
    if (this.fd !== undefined && !running(this.pid)) this.release();
  }

  release(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Nothing to give back.
    }
  }
}

/**
 * Opens the slave side `ptsName` of the terminal that program `pid` runs under. `undefined`
 * where this does not apply (not Linux, no slave name, the slave cannot be opened): the
 * terminal then behaves as node-pty makes it.
 */
export function holdTerminal(ptsName: unknown, pid: number): TerminalHold | undefined {
  if (process.platform !== 'linux' || typeof ptsName !== 'string' || ptsName === '') return undefined;
  let fd: number;
  try {
    // O_NOCTTY: this process must not take the terminal as its controlling terminal.
    // Node opens with O_CLOEXEC, so programs spawned later do not inherit it.
    fd = openSync(ptsName, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const hold = new HeldTerminal(fd, pid);
  // The program may have exited already (before it was opened, nothing held it back).
  hold.releaseIfExited();
  return hold;
}
