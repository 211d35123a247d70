import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { buildXstateShim, CC } from './xstate-shim';

export { buildXstateShim, CC, XSTATE_SHIM_SOURCE } from './xstate-shim';

/** Debian's user-mode-linux: the kernel binary and its modules. */
export const UML_KERNEL = '/usr/bin/linux';
export const UML_MODULES = '/usr/lib/uml/modules';
/** Files for the guest (`insmod.sh`, run inside it) and for the kernel (`xstate-shim.c`, preloaded into it). */
export const UML_GUEST_DIR = path.join(__dirname, '..', 'guest');

/** The directory of the modules for the installed UML kernel (`/usr/lib/uml/modules/<version>/kernel`). */
export function umlModuleDir(): string | undefined {
  let versions: string[];
  try {
    versions = fs.readdirSync(UML_MODULES).sort();
  } catch {
    return undefined;
  }
  const v = versions.find((d) => fs.existsSync(path.join(UML_MODULES, d, 'kernel')));
  return v === undefined ? undefined : path.join(UML_MODULES, v, 'kernel');
}

/**
 * Why user-mode Linux cannot run here, or undefined when it can. `modules` are paths under the
 * module directory that the guest will load (e.g. `net/vmw_vsock/vsock.ko`).
 */
export function umlMissing(modules: readonly string[] = []): string | undefined {
  if (!fs.existsSync(UML_KERNEL)) return `${UML_KERNEL} not found: apt-get install user-mode-linux`;
  const dir = umlModuleDir();
  if (dir === undefined) return `${UML_MODULES} not found: apt-get install user-mode-linux`;
  for (const m of modules) if (!fs.existsSync(path.join(dir, m))) return `${m} not found under ${dir}`;
  if (!fs.existsSync('/usr/bin/perl')) return '/usr/bin/perl not found';
  if (!fs.existsSync(CC)) return `${CC} not found (it builds the kernel's xstate shim): apt-get install gcc`;
  return undefined;
}

export interface UmlOptions {
  /** The guest's init (a script on the host, reached through hostfs). */
  readonly init: string;
  /** A private directory for UML's memory file and pid files. */
  readonly stateDir: string;
  /** `NAME=value` words for the kernel command line (unknown ones reach init's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Serial lines ssl1.. backed by pipes to this process: this many. */
  readonly lines?: number;
  readonly mem?: string;
}

export interface Uml {
  /** Host ends of the serial lines (ttyS1, ttyS2, ...). */
  readonly lines: net.Socket[];
  /** The console output so far. */
  output(): string;
  /** Resolves with the console output when the kernel exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** Kills the whole process group (the kernel and its helper processes). */
  kill(): Promise<void>;
}

/**
 * Boots user-mode Linux with the host's root on hostfs (read-write: guests write results into
 * directories the test made), its console on stdout, no network. The kernel runs with
 * `xstate-shim.c` preloaded (built into `stateDir`; see there), without which it cannot run guest
 * processes on hosts whose XSAVE area is not the size it was built for (AVX-512 with AMX).
 * Throws when the shim cannot be built.
 */
export function bootUml(options: UmlOptions): Uml {
  const nLines = options.lines ?? 0;
  const umid = `flow-${process.pid}-${Date.now().toString(36)}`;
  const shim = buildXstateShim(options.stateDir);
  const args = [
    `mem=${options.mem ?? '128M'}`,
    'rootfstype=hostfs',
    'rootflags=/',
    'rw',
    `init=${options.init}`,
    `umid=${umid}`,
    `uml_dir=${options.stateDir}`,
    'con=null',
    'ssl=null',
    'con0=null,fd:1',
    ...Array.from({ length: nLines }, (_, i) => `ssl${i + 1}=fd:${i + 3}`),
    'quiet',
    ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const child: ChildProcess = spawn(UML_KERNEL, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...Array.from({ length: nLines }, () => 'pipe' as const)],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: options.stateDir, LD_PRELOAD: shim },
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const lines = Array.from({ length: nLines }, (_, i) => child.stdio[i + 3] as net.Socket);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, output: out }));
  });
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return {
    lines,
    output: () => out,
    exited,
    kill: async () => {
      killGroup();
      for (const l of lines) l.destroy();
      await exited;
      killGroup(); // helpers that outlived the kernel
    },
  };
}

/**
 * Boots, waits for the guest to power off within `timeoutMs`, and returns its console output;
 * kills it and throws with the console's tail when it does not.
 */
export async function runUml(options: UmlOptions, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const uml = bootUml(options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([uml.exited, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await uml.kill();
    throw new Error(`user-mode Linux did not power off within ${timeoutMs} ms; console:\n${uml.output().slice(-6000)}`);
  }
  return { code: outcome.code, output: outcome.output };
}
