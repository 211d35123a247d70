import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF } from '@flow/core';
import { connect, connectPty, type PtyConsole, type PtyOptions } from '../src';
import { loadOptional } from '../src/optional-module';
import { pattern, readAll, readUntil, sha256, writeAll } from './support/io';
import { activeHandles, alive, fixtureArgs, openFds, terminalFds } from './support/processes';

async function pty(command: string, options: PtyOptions = {}): Promise<PtyConsole> {
  const r = await connectPty(command, options);
  if (!r.ok) throw r.error;
  return r.value;
}

/** Reads until the bytes read so far end with `tail`. */
async function readUntilTail(con: PtyConsole, tail: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  let last = Buffer.alloc(0);
  for (;;) {
    const r = await con.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) throw new Error('EOF before the trailer');
    const chunk = Buffer.from(r.value);
    parts.push(chunk);
    last = Buffer.concat([last, chunk]).subarray(-tail.length);
    if (last.equals(tail)) return Buffer.concat(parts);
  }
}

/** Undoes the terminal's ONLCR output translation: every `\n` the program wrote came out as `\r\n`. */
function undoOnlcr(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) continue;
    out[n++] = data[i];
  }
  return out.subarray(0, n);
}

describe('PTY console', () => {
  test('disconnect releases the terminal: no TTY handle or descriptor is left open', async () => {
    const ttyHandles = (): number => activeHandles().filter((h) => h === 'TTYWrap').length;
    const before = ttyHandles();
    const fds = openFds();
    const con = await pty('cat');
    try {
      await con.log('ping');
      await readUntil(con, 'ping\r\nping\r\n');
      expect(ttyHandles()).toBe(before + 1);
    } finally {
      await con.disconnect();
    }
    for (let i = 0; i < 100 && ttyHandles() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(ttyHandles()).toBe(before);
    expect(openFds()).toBe(fds);
  });

  test('await using: the scope ends with ^D (cat exits 0) and the terminal is released', async () => {
    const ttyHandles = (): number => activeHandles().filter((h) => h === 'TTYWrap').length;
    const before = ttyHandles();
    let used: PtyConsole | undefined;
    {
      await using con = await pty('cat');
      used = con;
      await con.log('scoped');
      await readUntil(con, 'scoped\r\nscoped\r\n');
    }
    expect(used.disconnected).toBe(true);
    expect(await used.exitStatus).toEqual({ exitCode: 0, signal: undefined });
    for (let i = 0; i < 100 && ttyHandles() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(ttyHandles()).toBe(before);
  });

  test('cat under a PTY: input is echoed, output comes back with \\r\\n, ^D ends it with status 0', async () => {
    const con = await pty('cat');
    expect(con.capabilities.halfCloseWrite).toBe('emulated');
    await con.log('hello');
    // The terminal echoes the line, then cat prints it: both with the terminal's \r\n.
    expect(await readUntil(con, 'hello\r\nhello\r\n')).toBe('hello\r\nhello\r\n');
    // shutdownWrite types ^D at the start of a line: cat reads EOF and exits.
    expect((await con.shutdownWrite()).ok).toBe(true);
    const rest = await readAll(con);
    expect(rest.toString('latin1')).not.toContain('hello');
    expect(await con.exitStatus).toEqual({ exitCode: 0, signal: undefined });
    expect(con.exit).toEqual({ exitCode: 0, signal: undefined });
    const w = await con.write(Buffer.from('late'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
    await con.disconnect();
  });

  test('a program that closes the terminal before it exits is not hung up: its own status is reported', async () => {
    // cat closes its descriptors before exiting; here the program holds that moment open. It
    // reports through one FIFO that its terminal descriptors are closed, and exits only once
    // a line comes through the other.
    const dir = mkdtempSync(join(tmpdir(), 'flow-pty-'));
    const closedFifo = join(dir, 'closed');
    const goFifo = join(dir, 'go');
    execFileSync('mkfifo', [closedFifo, goFifo]);
    // Read end without a writer yet, so that the program's open does not wait for us; the go
    // FIFO open for both reading and writing, so that neither side's open blocks.
    const closed = new Socket({ fd: openSync(closedFifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    const go = openSync(goFifo, constants.O_RDWR);
    const fds = terminalFds();
    let sh: PtyConsole | undefined;
    try {
      const script = 'exec 0<&- 1>&- 2>&-; echo closed > "$1"; read x < "$2"; exit 7';
      sh = await pty('/bin/sh', { args: ['-c', script, 'sh', closedFifo, goFifo] });
      await once(closed, 'data');
      // The master read EIO before the FIFO became readable, so both were reported by the same
      // poll of the event loop (or the master earlier); after this turn node-pty has acted on it.
      await new Promise((resolve) => setImmediate(resolve));
      writeSync(go, 'go\n');
      expect(await sh.exitStatus).toEqual({ exitCode: 7, signal: undefined });
      expect((await readAll(sh)).length).toBe(0);
      // Both sides of the terminal were given back with the exit.
      expect(terminalFds()).toBe(fds);
    } finally {
      await sh?.disconnect();
      closed.destroy();
      closeSync(go);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a real /bin/sh runs commands typed into it; its exit status is available', async () => {
    const r = await connect('pty:/bin/sh?cols=80&rows=24');
    if (!r.ok || r.value.backend !== 'pty') throw new Error('expected a PTY console');
    const sh = r.value;
    await sh.log('echo $((6*7))');
    expect(await readUntil(sh, /(^|\s)42\r\n/)).toMatch(/(^|\s)42\r\n/);
    await sh.log('exit 3');
    await readAll(sh);
    expect((await sh.exitStatus).exitCode).toBe(3);
    await sh.log('dropped: the program is gone');
    await sh.disconnect();
  });

  test('resize changes the window size the program sees', async () => {
    const sh = await pty('/bin/sh', { cols: 80, rows: 24 });
    expect(sh.resize(100, 40).ok).toBe(true);
    expect([sh.cols, sh.rows]).toEqual([100, 40]);
    await sh.log('stty size');
    expect(await readUntil(sh, /(^|\s)40 100\r\n/)).toMatch(/(^|\s)40 100\r\n/);
    await sh.log('exit');
    await readAll(sh);
    const after = sh.resize(90, 30);
    expect(after.ok ? 'ok' : after.error.kind).toBe('closed');
    expect(() => sh.resize(0, 10)).toThrow(RangeError);
    await sh.disconnect();
  });

  test('disconnect ends the program and its children: no orphan process is left', async () => {
    const sh = await pty('/bin/sh', { args: ['-c', 'sleep 1000 & echo "child=$!"; wait'] });
    const text = await readUntil(sh, /child=\d+\r\n/);
    const grandchild = Number(/child=(\d+)/.exec(text)?.[1]);
    expect(alive(grandchild)).toBe(true);
    await sh.disconnect();
    expect(sh.exit?.signal).toBe(1); // SIGHUP
    expect(alive(sh.pid)).toBe(false);
    // sleep got the hangup too; wait for the reaper (init) if it has not run yet.
    for (let i = 0; i < 100 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(grandchild)).toBe(false);
    const read = await sh.read();
    expect(read.ok && read.value === EOF).toBe(true);
  });

  test('a program that ignores the hangup is killed after killTimeoutMs', async () => {
    const sh = await pty('/bin/sh', { args: ['-c', "trap '' HUP; echo armed; while :; do sleep 1; done"], killTimeoutMs: 100 });
    await readUntil(sh, 'armed');
    await sh.disconnect();
    expect(sh.exit?.signal).toBe(9);
    expect(alive(sh.pid)).toBe(false);
  });

  test('a missing command or working directory is a not-found error, nothing is spawned', async () => {
    const r = await connectPty('no-such-command-here');
    expect(r.ok ? 'ok' : r.error.kind).toBe('not-found');
    const d = await connectPty('/bin/sh', { cwd: '/no/such/dir' });
    expect(d.ok ? 'ok' : d.error.kind).toBe('not-found');
  });

  test('a missing optional module is an unsupported error that says what to install', () => {
    const r = loadOptional('no-such-optional-module-xyz', 'the PTY console', (m): m is object => typeof m === 'object');
    expect(r.ok ? 'ok' : r.error.kind).toBe('unsupported');
    expect(r.ok ? '' : r.error.message).toContain('npm install no-such-optional-module-xyz');
  });
});

describe('stdio console through a real PTY', () => {
  test('the child puts its TTY in raw mode, a 16 MiB binary round trip is intact, disconnect restores the mode', async () => {
    const size = 16 * 1024 * 1024;
    const con = await pty(process.execPath, { args: fixtureArgs('stdio-echo.ts', [String(size)]) });
    // Before this line the terminal is still cooked (echo, line editing): wait for raw mode.
    const banner = await readUntil(con, '\r\n');
    expect(banner).toBe('READY raw=true tty=true\r\n');
    const data = pattern(size, 11);
    // After its disconnect the child reports the terminal mode (raw mode was put back), then
    // waits for one more byte before exiting, so that nothing it wrote is lost with the hangup.
    const trailer = Buffer.from('RESTORED isRaw=false\r\n');
    const [, out] = await Promise.all([writeAll(con, data, 64 * 1024), readUntilTail(con, trailer)]);
    await con.write(Buffer.from('\n'));
    expect((await readAll(con)).length).toBeLessThan(trailer.length);
    // Raw input is 8-bit clean (no ICRNL, no ^C/^D/^S handling); on output libuv keeps ONLCR.
    const echoed = undoOnlcr(out.subarray(0, out.length - trailer.length));
    expect(echoed.length).toBe(size);
    expect(sha256(echoed)).toBe(sha256(data));
    expect((await con.exitStatus).exitCode).toBe(0);
    await con.disconnect();
  });

  test('raw mode is restored on process exit, even without disconnect', async () => {
    // The fixture sets raw mode on /dev/tty and exits at once; with its stdio redirected away
    // from the terminal, stty afterwards shows what the exit left behind.
    const script = `"${process.execPath}" ${fixtureArgs('raw-exit.ts').map((a) => `"${a}"`).join(' ')} </dev/null >/dev/null 2>&1; echo "status=$?"; stty -a; echo END; read x`;
    const sh = await pty('/bin/sh', { args: ['-c', script] });
    // Read everything while the shell still runs: output written just before a PTY's last
    // writer exits can be lost with the terminal's hangup.
    const out = await readUntil(sh, 'END');
    expect(out).toContain('status=0');
    // A terminal left raw would show -icanon -echo.
    expect(out).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(out).toMatch(/(^|\s)echo(\s|$)/m);
    await sh.disconnect();
  });
});
