import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** Debian's user-mode-linux: the kernel binary and its modules. */
export const UML_KERNEL = '/usr/bin/linux';
export const UML_MODULES = '/usr/lib/uml/modules';
export const UML_FIXTURES = path.join(__dirname, '..', 'fixtures', 'uml');

/** Why user-mode Linux cannot run here, or undefined when it can. */
export function umlMissing(): string | undefined {
  if (!fs.existsSync(UML_KERNEL)) return `${UML_KERNEL} not found: apt-get install user-mode-linux`;
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(UML_MODULES);
  } catch {
    return `${UML_MODULES} not found: apt-get install user-mode-linux`;
  }
  const v = versions.find((d) => fs.existsSync(path.join(UML_MODULES, d, 'kernel', 'fs', '9p', '9p.ko')));
  if (v === undefined) return `no 9p.ko under ${UML_MODULES}`;
  if (!fs.existsSync('/usr/bin/perl')) return '/usr/bin/perl not found';
  return undefined;
}

export interface UmlOptions {
  /** The guest's init (a script on the host, reached through hostfs). */
  readonly init: string;
  /** A private directory for UML's memory file and pid files. */
  readonly stateDir: string;
  /** `NAME=value` words for the kernel command line (unknown ones reach init's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Serial lines ssl1.. backed by host sockets: this many. */
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

/** Boots user-mode Linux with a hostfs root; its console is read from stdout. */
export function bootUml(options: UmlOptions): Uml {
  const nLines = options.lines ?? 0;
  const umid = `flow9p-${process.pid}-${Date.now().toString(36)}`;
  const args = [
    path.join(UML_FIXTURES, 'no-xstate.pl'),
    UML_KERNEL,
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
  const child: ChildProcess = spawn('/usr/bin/perl', args, {
    stdio: ['ignore', 'pipe', 'pipe', ...Array.from({ length: nLines }, () => 'pipe' as const)],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: options.stateDir },
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

/** The most bytes the host sends before the guest's relay acknowledges them (see relay.pl). */
const WINDOW = 2048;

/**
 * Joins the host end of a serial line to a TCP connection to 127.0.0.1:port, speaking
 * the relay's protocol: raw bytes towards the guest within a window, frames back.
 */
export function bridgeLine(line: net.Socket, port: number): Promise<void> {
  const tcp = net.connect(port, '127.0.0.1');
  let credit = WINDOW;
  const pending: Buffer[] = [];
  const pump = (): void => {
    while (credit > 0 && pending.length > 0) {
      let b = pending[0]!;
      if (b.length > credit) {
        pending[0] = b.subarray(credit);
        b = b.subarray(0, credit);
      } else {
        pending.shift();
      }
      credit -= b.length;
      line.write(b);
    }
  };
  tcp.on('data', (d: Buffer) => {
    pending.push(Buffer.from(d));
    pump();
  });
  let acc: Buffer = Buffer.alloc(0);
  line.on('data', (d: Buffer) => {
    acc = acc.length === 0 ? d : Buffer.concat([acc, d]);
    for (;;) {
      if (acc.length === 0) break;
      const t = acc[0];
      if (t === 0x41) {
        if (acc.length < 5) break;
        credit += acc.readUInt32BE(1);
        acc = acc.subarray(5);
        pump();
      } else if (t === 0x44) {
        if (acc.length < 3) break;
        const n = acc.readUInt16BE(1);
        if (acc.length < 3 + n) break;
        tcp.write(Buffer.from(acc.subarray(3, 3 + n)));
        acc = acc.subarray(3 + n);
      } else {
        tcp.destroy(new Error(`serial line: unexpected byte 0x${t!.toString(16)}`));
        acc = Buffer.alloc(0);
        break;
      }
    }
  });
  return new Promise((resolve) => {
    const done = (): void => {
      tcp.destroy();
      resolve();
    };
    line.once('close', done);
    line.once('error', done);
    tcp.once('close', resolve);
    tcp.once('error', () => undefined);
  });
}

/** `@@ <tag> <words...>` lines of a guest's console. */
export function guestLines(output: string): string[][] {
  return output
    .split(/\r?\n/)
    .filter((l) => l.startsWith('@@ '))
    .map((l) => l.slice(3).trim().split(/\s+/));
}
