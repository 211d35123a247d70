import { spawn, type ChildProcess } from 'node:child_process';
import { exited } from './processes';

/** Two linked pseudo-terminals from socat, standing in for the two ends of a serial line. */
export interface PtyLine {
  readonly paths: readonly [string, string];
  stop(): Promise<void>;
}

/** Starts `socat -d -d pty,raw,echo=0 pty,raw,echo=0` and parses the two /dev/pts paths it logs. */
export function startPtyLine(): Promise<PtyLine> {
  const child: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
  };
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer): void => {
      log += d.toString('utf8');
      const paths = [...log.matchAll(/PTY is (\/dev\/pts\/\d+)/g)].map((m) => m[1]);
      // Both ptys exist once socat says it starts transferring.
      if (paths.length >= 2 && log.includes('starting data transfer')) {
        child.stderr?.removeListener('data', onData);
        child.stderr?.resume();
        resolve({ paths: [paths[0], paths[1]], stop });
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', () => reject(new Error(`socat exited early: ${log}`)));
  });
}
