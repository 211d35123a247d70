// The addon's libuv polls: they call back on the main thread with microtasks run after each call,
// never after pollClose, release every descriptor and handle, and survive the ways a program can
// forget them (a throwing callback, a worker that exits, an unreachable handle object). Readiness
// is produced with FIFOs (a poll works on any descriptor), so no vsock connect() is needed.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHook } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PollHandle, VsockBinding } from '../src/native/binding';
import { loadVsockBinding } from '../src/native/load';
import { locateVsockAddon } from '../src/native/locate';

const EBADF = os.constants.errno.EBADF;

function vsock(): VsockBinding {
  const loaded = loadVsockBinding();
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

function addonPath(): string {
  const located = locateVsockAddon();
  if (!located.ok) throw located.error;
  return located.value.path;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The descriptors of this process that are sockets: fd -> "socket:[inode]". */
function openSockets(): Map<string, string> {
  const sockets = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:')) sockets.set(fd, target);
    } catch {
      // closed while listing (readdir's own descriptor)
    }
  }
  return sockets;
}

function newSockets(before: Map<string, string>): string[] {
  return [...openSockets()].filter(([fd, target]) => before.get(fd) !== target).map(([fd]) => fd);
}

/** A listening AF_VSOCK socket on an ephemeral port. */
function listeningSocket(b: VsockBinding): number {
  const fd = b.socket();
  if (fd < 0) throw new Error(`socket(AF_VSOCK) gave ${fd}`);
  if (b.bind(fd, b.constants.VMADDR_CID_ANY, b.constants.VMADDR_PORT_ANY, 0) !== 0 || b.listen(fd, 4) !== 0) {
    throw new Error('bind/listen failed');
  }
  return fd;
}

/** A FIFO in a temp dir, with both ends open non-blocking. */
function fifo(): { reader: number; writer: number; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-poll-'));
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
  return { reader, writer, cleanup: () => (closeQuietly(reader), closeQuietly(writer), fs.rmSync(dir, { recursive: true, force: true })) };
}

/** Runs a Node script in a child process that has the addon's path as `ADDON`; returns its outcome. */
function runChild(script: string, nodeArgs: readonly string[] = []): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [...nodeArgs, '-e', `const ADDON = ${JSON.stringify(addonPath())};\n${script}`], {
    encoding: 'utf8',
    timeout: 60_000, // a hang (a handle keeping the loop alive) fails instead of stalling the suite
  });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

describe('poll handles on a listener', () => {
  test('pollOpen + pollWatch(readable) + pollClose: 0, then -EBADF for a closed handle; pollClose is idempotent', () => {
    const b = vsock();
    const fd = listeningSocket(b);
    const handle = b.pollOpen(fd, () => undefined);
    expect(b.pollWatch(handle, true, false)).toBe(0);
    expect(b.pollWatch(handle, false, false)).toBe(0);
    expect(b.pollWatch(handle, true, true)).toBe(0);
    b.pollClose(handle);
    expect(b.pollWatch(handle, true, false)).toBe(-EBADF);
    expect(() => b.pollClose(handle)).not.toThrow();
    expect(b.close(fd)).toBe(0);
  });

  test('watching a descriptor closed under the poll gives -EBADF (libuv would abort the process)', () => {
    const b = vsock();
    const fd = listeningSocket(b);
    const handle = b.pollOpen(fd, () => undefined);
    expect(b.close(fd)).toBe(0);
    expect(b.pollWatch(handle, true, false)).toBe(-EBADF);
    expect(b.pollWatch(handle, false, false)).toBe(0);
    b.pollClose(handle);
  });

  test('200 open/watch/close cycles leave no descriptor behind (and the check sees a leaked one)', async () => {
    const b = vsock();
    const before = openSockets();
    for (let i = 0; i < 200; i++) {
      const fd = listeningSocket(b);
      const handle = b.pollOpen(fd, () => undefined);
      expect(b.pollWatch(handle, true, false)).toBe(0);
      b.pollClose(handle);
      expect(b.close(fd)).toBe(0);
    }
    await turn(); // libuv's close callbacks run on the next loop turn
    expect(newSockets(before)).toEqual([]);

    const leaked = listeningSocket(b);
    expect(newSockets(before)).toEqual([String(leaked)]);
    b.close(leaked);
  });

  test('every poll is an async resource that is destroyed by pollClose (what jest --detectOpenHandles tracks)', async () => {
    const b = vsock();
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === 'HvsockPoll' && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    try {
      // One poll per descriptor: libuv refuses a second one on a watched fd (EEXIST).
      const fds = Array.from({ length: 5 }, () => listeningSocket(b));
      const handles: PollHandle[] = fds.map((fd) => b.pollOpen(fd, () => undefined));
      for (const handle of handles) expect(b.pollWatch(handle, true, false)).toBe(0);
      expect(live.size).toBe(5);
      for (const handle of handles) b.pollClose(handle);
      for (const fd of fds) b.close(fd);
      for (let i = 0; i < 3 && live.size > 0; i++) await turn(); // destroy hooks are emitted on a later turn
      expect(live.size).toBe(0);
    } finally {
      hook.disable();
    }
  });

  test('a process whose polls were closed exits by itself: no handle keeps the loop alive', () => {
    const run = runChild(`
      const b = require(ADDON), c = b.constants;
      const fd = b.socket();
      b.bind(fd, c.VMADDR_CID_ANY, c.VMADDR_PORT_ANY, 0); b.listen(fd, 4);
      for (let i = 0; i < 50; i++) { const h = b.pollOpen(fd, () => {}); b.pollWatch(h, true, true); b.pollClose(h); }
      b.close(fd);
      process.on('beforeExit', () => { if (!process.exitCode) { console.log('drained'); process.exitCode = 0; } });`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'drained\n', stderr: '' });
  });
});

describe('callbacks', () => {
  test('readable data calls back (0, true, false), never again after pollClose (called inside the callback)', async () => {
    const b = vsock();
    const { reader, writer, cleanup } = fifo();
    try {
      fs.writeSync(writer, 'x');
      const calls: [number, boolean, boolean][] = [];
      await new Promise<void>((resolve) => {
        const handle = b.pollOpen(reader, (status, readable, writable) => {
          calls.push([status, readable, writable]);
          b.pollClose(handle); // the data stays unread: a live poll would call again
          resolve();
        });
        expect(b.pollWatch(handle, true, false)).toBe(0);
      });
      for (let i = 0; i < 3; i++) await turn();
      expect(calls).toEqual([[0, true, false]]);
    } finally {
      cleanup();
    }
  });

  test('the microtasks and nextTicks a callback queues run before the next callback (napi_make_callback)', () => {
    // Two descriptors ready in the same loop turn: their callbacks run back to back in one epoll
    // pass, so only a callback scope around each one runs its microtasks in between.
    const run = runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/hvsock-');
      const b = require(ADDON);
      const order = [];
      let pending = 2;
      for (const name of ['a', 'b']) {
        const file = dir + '/' + name;
        execFileSync('mkfifo', [file]);
        const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        const w = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.writeSync(w, 'x');
        const h = b.pollOpen(r, () => {
          order.push('callback');
          Promise.resolve().then(() => order.push('microtask'));
          process.nextTick(() => order.push('tick'));
          b.pollClose(h);
          if (--pending === 0) setImmediate(() => { console.log(order.join(' ')); fs.rmSync(dir, { recursive: true }); });
        });
        b.pollWatch(h, true, false);
      }`);
    expect(run).toMatchObject({ status: 0, stdout: 'callback tick microtask callback tick microtask\n', stderr: '' });
  });

  test('a pending error (POLLERR, which libuv reports as EBADF) calls back as ready, so that the I/O call tells the real error', async () => {
    const b = vsock();
    const { reader, writer, cleanup } = fifo();
    try {
      fs.closeSync(reader); // a FIFO without reader: POLLERR on the writer, as a reset vsock socket
      const calls = await new Promise<[number, boolean, boolean][]>((resolve) => {
        const seen: [number, boolean, boolean][] = [];
        const handle = b.pollOpen(writer, (status, readable, writable) => {
          seen.push([status, readable, writable]);
          if (seen.length === 2 || status !== 0) {
            b.pollClose(handle);
            resolve(seen);
          }
        });
        b.pollWatch(handle, false, true);
      });
      expect(calls).toEqual([
        [0, false, true],
        [0, false, true], // level-triggered: told again while the error holds
      ]);
      expect(() => fs.writeSync(writer, 'x')).toThrow(expect.objectContaining({ code: 'EPIPE' }));
    } finally {
      cleanup();
    }
  });

  test('a callback that throws reaches process "uncaughtException", and polling goes on', () => {
    const run = runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/hvsock-'); const file = dir + '/fifo';
      execFileSync('mkfifo', [file]);
      const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const w = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(w, 'x');
      const b = require(ADDON);
      let calls = 0;
      process.on('uncaughtException', (e) => console.log('caught ' + e.message));
      const h = b.pollOpen(r, () => { calls++; if (calls === 1) throw new Error('boom'); b.pollClose(h); console.log('called again'); fs.rmSync(dir, { recursive: true }); });
      b.pollWatch(h, true, false);`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'caught boom\ncalled again\n' });
  });

  test('a worker thread that ends with its polls still open exits cleanly (the addon closes them)', () => {
    const run = runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`
        const b = require(\${JSON.stringify(ADDON)}), c = b.constants;
        for (let i = 0; i < 20; i++) {
          const fd = b.socket();
          b.bind(fd, c.VMADDR_CID_ANY, c.VMADDR_PORT_ANY, 0); b.listen(fd, 4);
          b.pollWatch(b.pollOpen(fd, () => {}), true, false);
        }
        process.exit(0);\`, { eval: true });
      w.on('exit', (code) => console.log('worker exited ' + code));`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'worker exited 0\n', stderr: '' });
  });

  test('a handle object collected without pollClose releases its poll, so the process can exit', () => {
    const run = runChild(
      `
      const b = require(ADDON), c = b.constants;
      const fds = [];
      for (let i = 0; i < 100; i++) {
        const fd = b.socket();
        b.bind(fd, c.VMADDR_CID_ANY, c.VMADDR_PORT_ANY, 0); b.listen(fd, 4);
        if (b.pollWatch(b.pollOpen(fd, () => {}), true, false) !== 0) throw new Error('pollWatch failed');
        fds.push(fd);
      }
      const collect = (n) => { globalThis.gc(); if (n > 0) setImmediate(() => collect(n - 1)); };
      collect(5);
      process.on('exit', () => { for (const fd of fds) b.close(fd); });`,
      ['--expose-gc'],
    );
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
  });
});
