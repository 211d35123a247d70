// The addon's pending-port reader: a libuv poll that reads u32 port numbers until EAGAIN and
// calls back on the main thread (napi_make_callback), reports POLLERR (evtchn's ring overflow)
// as `overflowed`, never calls after pollClose, and survives the ways a program can forget it.
// No Xen here: the test-only pollFd() runs the same reader on a FIFO, and the test-only
// setDevicePaths() puts a FIFO in place of /dev/xen/evtchn (in child processes, since it changes
// the addon's per-thread state), where write() of a port (unmask) comes back as pending.
import { createHook } from 'node:async_hooks';
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { PendingPortsCallback, PollHandle } from '../src/platform/native-binding';
import { fifo, portBytes, runChild, turn, xen } from './support/native-addon';

const { EBADF, EPERM, EPIPE } = constants.errno;

interface Call {
  readonly status: number;
  readonly ports: readonly number[];
  readonly overflowed: boolean;
}

/** A poll on `fd` that records its calls; `until` resolves once `done(calls)` holds. */
function recordingPoll(fd: number, done: (calls: readonly Call[]) => boolean, onCall?: (handle: PollHandle, call: Call) => void) {
  const calls: Call[] = [];
  let handle: PollHandle | undefined;
  const until = new Promise<readonly Call[]>((resolve) => {
    const callback: PendingPortsCallback = (status, ports, overflowed) => {
      const call = { status, ports: [...ports], overflowed };
      calls.push(call);
      if (handle) onCall?.(handle, call);
      if (done(calls)) resolve(calls);
    };
    const opened = xen().pollFd(fd, callback);
    if (typeof opened === 'number') throw new Error(`pollFd gave ${opened}`);
    handle = opened;
  });
  return { until, calls, close: () => handle && xen().pollClose(handle) };
}

const allPorts = (calls: readonly Call[]): number[] => calls.flatMap((call) => call.ports);

describe('reading pending ports', () => {
  test('the ports written are delivered in order, as numbers, and the call says nothing overflowed', async () => {
    const { reader, writePorts, cleanup } = fifo();
    try {
      const poll = recordingPoll(reader, (calls) => allPorts(calls).length >= 4);
      writePorts([1, 2, 3]);
      await new Promise<void>((resolve) => setImmediate(() => (writePorts([0xffffffff]), resolve())));
      const calls = await poll.until;
      poll.close();
      expect(allPorts(calls)).toEqual([1, 2, 3, 0xffffffff]);
      expect(calls.every((call) => call.status === 0 && !call.overflowed)).toBe(true);
    } finally {
      cleanup();
    }
  });

  test('20000 pending ports at once are all read (bounded reads per callback, the rest on later turns)', async () => {
    const { reader, writer, cleanup } = fifo();
    try {
      const ports = Array.from({ length: 20_000 }, (_, i) => i * 3);
      const poll = recordingPoll(reader, (calls) => allPorts(calls).length >= ports.length);
      const bytes = portBytes(ports);
      let written = 0;
      // The FIFO holds 64 KiB: write as it drains.
      const pump = (): void => {
        try {
          written += writeSync(writer, bytes, written);
        } catch {
          // EAGAIN: full until the reader drains it
        }
        if (written < bytes.length) setImmediate(pump);
      };
      pump();
      const calls = await poll.until;
      poll.close();
      expect(allPorts(calls)).toEqual(ports);
      expect(Math.max(...calls.map((call) => call.ports.length))).toBeLessThanOrEqual(16 * 1024);
    } finally {
      cleanup();
    }
  });

  test('a port split across two writes (a byte stream) is delivered whole, once', async () => {
    const { reader, writer, cleanup } = fifo();
    try {
      const poll = recordingPoll(reader, (calls) => calls.length >= 1);
      const bytes = portBytes([0x01020304, 5]);
      writeSync(writer, bytes.subarray(0, 2));
      for (let i = 0; i < 5; i++) await turn();
      expect(poll.calls).toEqual([]); // half a port: nothing to say yet
      writeSync(writer, bytes.subarray(2));
      const calls = await poll.until;
      poll.close();
      expect(calls).toEqual([{ status: 0, ports: [0x01020304, 5], overflowed: false }]);
    } finally {
      cleanup();
    }
  });

  test('POLLERR (evtchn: the event ring overflowed) calls back overflowed, and polling goes on', async () => {
    const { reader, writer, cleanup } = fifo();
    try {
      closeSync(reader); // a FIFO without reader: POLLERR on the writer, level-triggered
      const poll = recordingPoll(writer, (calls) => calls.length >= 2);
      const calls = await poll.until;
      poll.close();
      expect(calls.slice(0, 2)).toEqual([
        { status: 0, ports: [], overflowed: true },
        { status: 0, ports: [], overflowed: true }, // told again: the poll was restarted
      ]);
    } finally {
      cleanup();
    }
  });

  test('the end of the descriptor (its writer left) stops polling with -EPIPE, told once', async () => {
    const { reader, writer, writePorts, cleanup } = fifo();
    try {
      writePorts([42]);
      closeSync(writer);
      const poll = recordingPoll(reader, (calls) => calls.some((call) => call.status !== 0));
      await poll.until;
      for (let i = 0; i < 5; i++) await turn();
      poll.close();
      expect(poll.calls).toEqual([{ status: -EPIPE, ports: [42], overflowed: false }]);
    } finally {
      cleanup();
    }
  });

  test('never called again after pollClose, even from inside the callback with ports left unread', async () => {
    const { reader, writePorts, cleanup } = fifo();
    try {
      const poll = recordingPoll(reader, (calls) => calls.length >= 1, (handle) => xen().pollClose(handle));
      writePorts([1]);
      await poll.until;
      writePorts([2]);
      for (let i = 0; i < 5; i++) await turn();
      expect(poll.calls).toEqual([{ status: 0, ports: [1], overflowed: false }]);
      expect(() => poll.close()).not.toThrow(); // idempotent
    } finally {
      cleanup();
    }
  });
});

describe('refusals', () => {
  test('pollFd on a closed descriptor gives -EBADF, on a regular file -EPERM (epoll refuses it); bad arguments throw', () => {
    const { reader, cleanup } = fifo();
    cleanup();
    expect(xen().pollFd(reader, () => undefined)).toBe(-EBADF);
    const file = openSync(__filename, 'r');
    try {
      expect(xen().pollFd(file, () => undefined)).toBe(-EPERM);
    } finally {
      closeSync(file);
    }
    const name = (run: () => unknown): string => {
      try {
        run();
      } catch (error) {
        return (error as Error).name;
      }
      return 'no error';
    };
    expect(name(() => xen().pollFd(0, 'not a function' as unknown as PendingPortsCallback))).toBe('TypeError');
    expect(name(() => xen().pollFd(-1, () => undefined))).toBe('RangeError');
    expect(name(() => xen().pollClose({} as PollHandle))).toBe('TypeError');
  });

  test('available() here: /dev/xen/gntdev is missing (ENOENT), and nothing crashes', () => {
    expect(xen().available()).toEqual([-constants.errno.ENOENT, '/dev/xen/gntdev']);
    expect(xen().mapGrant(1, 8, true)).toBe(-constants.errno.ENOENT);
    expect(xen().evtchnBindInterdomain(1, 8)).toBe(-constants.errno.ENOENT);
    expect(xen().evtchnPoll(() => undefined)).toBe(-constants.errno.ENOENT);
    expect(xen().evtchnUnmask(8)).toBe(-constants.errno.ENOENT);
  });
});

describe('life cycle', () => {
  test('every poll is an async resource that pollClose destroys (what jest --detectOpenHandles tracks)', async () => {
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === 'XenPortReader' && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    const fifos = Array.from({ length: 5 }, () => fifo());
    try {
      const handles = fifos.map(({ reader }) => xen().pollFd(reader, () => undefined));
      expect(live.size).toBe(5);
      for (const handle of handles) if (typeof handle !== 'number') xen().pollClose(handle);
      for (let i = 0; i < 3 && live.size > 0; i++) await turn(); // destroy hooks are emitted on a later turn
      expect(live.size).toBe(0);
    } finally {
      hook.disable();
      for (const f of fifos) f.cleanup();
    }
  });

  test('a process whose polls were closed exits by itself: no handle keeps the loop alive', () => {
    const run = runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-'); const file = dir + '/fifo';
      execFileSync('mkfifo', [file]);
      const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const b = require(ADDON);
      for (let i = 0; i < 50; i++) b.pollClose(b.pollFd(r, () => {}));
      fs.rmSync(dir, { recursive: true });
      process.on('beforeExit', () => { if (!process.exitCode) { console.log('drained'); process.exitCode = 0; } });`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'drained\n', stderr: '' });
  });

  test('the microtasks and nextTicks a callback queues run before the next callback (napi_make_callback)', () => {
    // Two descriptors ready in the same loop turn: their callbacks run back to back in one epoll
    // pass, so only a callback scope around each one runs its microtasks in between.
    const run = runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-');
      const b = require(ADDON);
      const order = [];
      let pending = 2;
      for (const name of ['a', 'b']) {
        const file = dir + '/' + name;
        execFileSync('mkfifo', [file]);
        const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        const w = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.writeSync(w, Buffer.alloc(4));
        const h = b.pollFd(r, () => {
          order.push('callback');
          Promise.resolve().then(() => order.push('microtask'));
          process.nextTick(() => order.push('tick'));
          b.pollClose(h);
          if (--pending === 0) setImmediate(() => { console.log(order.join(' ')); fs.rmSync(dir, { recursive: true }); });
        });
      }`);
    expect(run).toMatchObject({ status: 0, stdout: 'callback tick microtask callback tick microtask\n', stderr: '' });
  });

  test('a callback that throws reaches process "uncaughtException", and polling goes on', () => {
    const run = runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-'); const file = dir + '/fifo';
      execFileSync('mkfifo', [file]);
      const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const w = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(w, Buffer.alloc(4));
      const b = require(ADDON);
      let calls = 0;
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); fs.writeSync(w, Buffer.alloc(4)); });
      const h = b.pollFd(r, () => { calls++; if (calls === 1) throw new Error('boom'); b.pollClose(h); console.log('called again'); fs.rmSync(dir, { recursive: true }); });`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'caught boom\ncalled again\n' });
  });

  test('a worker thread that ends with its polls still open exits cleanly (the addon closes them)', () => {
    const run = runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`
        const fs = require('fs'), { execFileSync } = require('child_process');
        const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-');
        const b = require(\${JSON.stringify(ADDON)});
        for (let i = 0; i < 20; i++) {
          const file = dir + '/' + i;
          execFileSync('mkfifo', [file]);
          b.pollFd(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK), () => {});
        }
        fs.rmSync(dir, { recursive: true });
        process.exit(0);\`, { eval: true });
      w.on('exit', (code) => console.log('worker exited ' + code));`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'worker exited 0\n', stderr: '' });
  });

  test('a handle object collected without pollClose releases its poll, so the process can exit', () => {
    const run = runChild(
      `
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-');
      const b = require(ADDON);
      const fds = [];
      for (let i = 0; i < 100; i++) {
        const file = dir + '/' + i;
        execFileSync('mkfifo', [file]);
        const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
        if (typeof b.pollFd(fd, () => {}) === 'number') throw new Error('pollFd failed');
        fds.push(fd);
      }
      fs.rmSync(dir, { recursive: true });
      const collect = (n) => { globalThis.gc(); if (n > 0) setImmediate(() => collect(n - 1)); };
      collect(5);
      process.on('exit', () => { for (const fd of fds) fs.closeSync(fd); });`,
      ['--expose-gc'],
    );
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
  });
});

describe('/dev/xen/evtchn and /dev/xen/gntdev replaced by stand-ins (setDevicePaths, in a child process)', () => {
  /** Runs `body` in a child with `b` (the addon), `dir` (a temp dir) and `done()` that cleans up. */
  function withStandIns(body: string): ReturnType<typeof runChild> {
    return runChild(`
      const fs = require('fs'), { execFileSync } = require('child_process');
      const dir = fs.mkdtempSync(require('os').tmpdir() + '/xen-console-devices-');
      const done = () => fs.rmSync(dir, { recursive: true });
      const b = require(ADDON);
      const out = (value) => console.log(JSON.stringify(value));
      ${body}`);
  }

  test('available() names the device that did not open, with its errno', () => {
    const run = withStandIns(`
      fs.writeFileSync(dir + '/gntdev', '');
      fs.mkdirSync(dir + '/a-directory');
      out(b.setDevicePaths(dir + '/absent-gntdev', dir + '/absent-evtchn'));
      out(b.available());
      out(b.setDevicePaths(dir + '/gntdev', dir + '/absent-evtchn'));
      out(b.available());
      out(b.setDevicePaths(dir + '/gntdev', dir + '/a-directory'));
      out(b.available());
      out(dir);
      done();`);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown);
    const dir = lines[6] as string;
    expect(lines.slice(0, 6)).toEqual([
      0,
      [-constants.errno.ENOENT, `${dir}/absent-gntdev`],
      0,
      [-constants.errno.ENOENT, `${dir}/absent-evtchn`],
      0,
      [-constants.errno.EISDIR, `${dir}/a-directory`],
    ]);
  });

  test('a worker thread that ends with its devices open, the evtchn poll open and pages mapped exits cleanly and closes the devices', () => {
    // Each thread has its own devices: the worker's are closed when it ends, the main thread's stay.
    const run = withStandIns(`
      fs.writeFileSync(dir + '/gntdev', '');
      execFileSync('mkfifo', [dir + '/evtchn']);
      const open = () => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith(dir); } catch { return false; } }).length;
      const { Worker } = require('worker_threads');
      const w = new Worker(\`
        const b = require(\${JSON.stringify(ADDON)});
        b.setDevicePaths(\${JSON.stringify(dir + '/gntdev')}, \${JSON.stringify(dir + '/evtchn')});
        if (b.available() !== 0 || typeof b.evtchnPoll(() => {}) !== 'object') throw new Error('stand-ins did not open');
        globalThis.page = b.allocTestPage(true);
        require('worker_threads').parentPort.postMessage('ready');
        setInterval(() => {}, 1000);\`, { eval: true });
      w.on('message', () => { out(open()); w.terminate(); });
      w.on('exit', () => { out(open()); done(); });`);
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
    expect(run.stdout).toBe('2\n0\n');
  });

  test('devices that are not Xen\'s: every ioctl gives -ENOTTY, nothing crashes; the poll reads what write() (unmask) queued', () => {
    const run = withStandIns(`
      fs.writeFileSync(dir + '/gntdev', Buffer.alloc(8192));
      execFileSync('mkfifo', [dir + '/evtchn']);
      out(b.setDevicePaths(dir + '/gntdev', dir + '/evtchn'));
      out(b.available());
      out([b.mapGrant(1, 8, true), b.mapGrant(1, 8, false), b.evtchnBindInterdomain(1, 8), b.evtchnBindUnbound(1), b.evtchnNotify(25), b.evtchnUnbind(25)]);
      const seen = [];
      const h = b.evtchnPoll((status, ports, overflowed) => {
        seen.push(...ports);
        if (status !== 0 || overflowed) out({ status, overflowed });
        if (seen.length === 2) {
          out(seen);
          out(b.setDevicePaths(dir + '/gntdev', dir + '/evtchn')); // the poll is open: EBUSY
          b.pollClose(h);
          const again = b.evtchnPoll(() => {});
          out(typeof again);
          b.pollClose(again);
          done();
        }
      });
      out([typeof h, b.evtchnPoll(() => {})]);
      out([b.evtchnUnmask(7), b.evtchnUnmask(9)]);`);
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
    const { ENOTTY, EBUSY } = constants.errno;
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      0,
      0,
      [-ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY],
      ['object', -EBUSY],
      [0, 0],
      [7, 9],
      -EBUSY,
      'object',
    ]);
  });
});
