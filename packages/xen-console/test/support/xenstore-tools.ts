import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The xenstore-utils programs the interop tests drive (Debian package `xenstore-utils`). */
export const XENSTORE_TOOLS = [
  'xenstore-read',
  'xenstore-write',
  'xenstore-ls',
  'xenstore-list',
  'xenstore-rm',
  'xenstore-chmod',
  'xenstore-exists',
  'xenstore-watch',
] as const;

export const INSTALL_HINT = 'apt-get install -y --no-install-recommends xenstore-utils';

/** The tools that are missing from PATH. */
export function missingTools(): string[] {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '');
  return XENSTORE_TOOLS.filter((tool) => !dirs.some((d) => existsSync(`${d}/${tool}`)));
}

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one tool against the xenstored socket `socket` (XENSTORED_PATH, as libxenstore reads it). */
export function runTool(socket: string, tool: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(tool, [...args], { env: { ...process.env, XENSTORED_PATH: socket }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running tool (xenstore-watch) and collects its output. */
export function startTool(socket: string, tool: string, args: readonly string[]): { child: ChildProcess; done: Promise<ToolResult> } {
  const child = spawn(tool, [...args], { env: { ...process.env, XENSTORED_PATH: socket }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  const done = new Promise<ToolResult>((resolve) => {
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.once('error', (e) => resolve({ code: -1, stdout, stderr: `${stderr}${String(e)}` }));
  });
  return { child, done };
}
