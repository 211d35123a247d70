import { execFile } from 'node:child_process';
import { findTool as findAnywhere, startLoopbackPeer, type PeerProcess } from './loopback-peer';

/** `name` on PATH (diod installs into /usr/sbin, which is on root's PATH), or undefined. */
export function findTool(name: string): string | undefined {
  return findAnywhere(name, ['/usr/sbin', '/usr/bin']);
}

export type DiodProcess = PeerProcess;

/**
 * A private diod in the foreground on 127.0.0.1, exporting `exportDir` and its synthetic
 * `ctl` tree: no MUNGE authentication (`-n`), no user database (`-N`), no config file, logging
 * to `logFile`. Resolves once it accepts connections; it dies with this process.
 */
export function startDiod(binary: string, exportDir: string, logFile: string): Promise<DiodProcess> {
  return startLoopbackPeer(
    binary,
    (port) => ['-f', '-n', '-N', '-c', '/dev/null', '-l', `127.0.0.1:${port}`, '-e', exportDir, '-e', 'ctl', '-L', logFile],
    { name: 'diod', hint: `see ${logFile}` },
  );
}

export interface ToolRun {
  readonly code: number;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs one of diod's clients with a time limit and collects its stderr (where they report). */
export function runTool(binary: string, args: readonly string[], timeoutMs: number): Promise<ToolRun> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(binary, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr: String(stderr), seconds });
    });
  });
}
