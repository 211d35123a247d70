// A stand-in for /dev/xen/xenbus without Xen: a pty is a pollable character device with
// byte-stream semantics, and socat joins its master to the simulated xenstored's socket, so what
// the client writes to the pty's device path reaches xenstored and its replies come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { until } from './xenstore-support';

export const SOCAT = '/usr/bin/socat';

export interface XenbusPty {
  /** The device path (a symlink to /dev/pts/N). */
  readonly path: string;
  /** Ends socat (its connection to xenstored goes with it) and waits for it to exit. */
  stop(): Promise<void>;
}

/** What socat logs at notice level (`-d -d`) once both addresses are open and set up. */
const TRANSFER_LOOP = 'starting data transfer loop';

/**
 * Starts socat with a pty at `path` (raw, no echo) connected to the xenstored socket `socket`,
 * and resolves once the pty is raw. socat makes the `link` before it applies the terminal
 * options, so a client that opened the link as soon as it appeared could write while the pty
 * still turned each 0x0a byte (a request id of 10, say) into 0x0d 0x0a and echoed replies back:
 * corrupt frames, and xenstored hangs up. socat logs its transfer loop's start only after every
 * option is applied and xenstored is connected; that line is what this waits for.
 */
export async function startXenbusPty(path: string, socket: string): Promise<XenbusPty> {
  if (!existsSync(SOCAT)) throw new Error(`${SOCAT} is missing: install socat (apt-get install socat)`);
  const child: ChildProcess = spawn(SOCAT, ['-d', '-d', `PTY,link=${path},rawer`, `UNIX-CONNECT:${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  // Kept short: socat at notice level logs a line per connection event, never per byte.
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await until(() => (existsSync(path) && stderr.includes(TRANSFER_LOOP)) || gone, `socat to create ${path} and start its transfer loop`);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  if (gone) throw new Error(`socat exited before creating ${path}: ${stderr}`);
  return {
    path,
    stop: async () => {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
  };
}
