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

/** Starts socat with a pty at `path` (raw, no echo) connected to the xenstored socket `socket`. */
export async function startXenbusPty(path: string, socket: string): Promise<XenbusPty> {
  if (!existsSync(SOCAT)) throw new Error(`${SOCAT} is missing: install socat (apt-get install socat)`);
  const child: ChildProcess = spawn(SOCAT, [`PTY,link=${path},rawer`, `UNIX-CONNECT:${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await until(() => existsSync(path) || gone, `socat to create ${path}`);
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
