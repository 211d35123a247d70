// The failure paths of the hybrid-vsock client and listener, against scripted VMM stand-ins
// (replies no real VMM sends: junk, overlong lines, replies cut short) and real socket files.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { HybridVsockAddress } from '../src/address/types';
import { connectHybrid } from '../src/hybrid/connect';
import { listenHybrid } from '../src/hybrid/listen';
import { maxSocketPathBytes } from '../src/unix/path-limit';
import { dribble, ScriptedVmm } from './support/scripted-vmm';
import { expectErr, expectOk, noPipeHandlesLeftAbove, pipeHandles, readAll, readBytes, sha256, socketDir, waitUntil } from './support/unix-flow-io';

let tmp: ReturnType<typeof socketDir>;
let uds: string;
let vmm: ScriptedVmm | undefined;

beforeEach(() => {
  tmp = socketDir();
  uds = join(tmp.dir, 'v.sock');
});

afterEach(async () => {
  await vmm?.close();
  vmm = undefined;
  tmp.remove();
});

const at = (port: number, path = uds): HybridVsockAddress => ({ kind: 'hybrid-vsock', path, port });

async function scripted(script: (socket: Socket, command: Buffer) => void | Promise<void>): Promise<ScriptedVmm> {
  vmm = await ScriptedVmm.start(uds, script);
  return vmm;
}

/** Leaves a socket file behind the way a crashed process does: bound, then killed. */
function makeStaleSocket(path: string): void {
  const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  expect(r.signal).toBe('SIGKILL');
  expect(statSync(path).isSocket()).toBe(true);
}

describe('connectHybrid: replies that are not an acknowledgement', () => {
  test('a malformed reply is a protocol error that quotes it, and the socket is closed', async () => {
    const v = await scripted((s) => void s.write('ERROR no listener\n'));
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('protocol');
    expect(error.message).toContain('"ERROR no listener\\n"');
    expect(error.message).toContain('CONNECT 52');
    expect(v.commands).toEqual([Buffer.from('CONNECT 52\n')]);
    await noPipeHandlesLeftAbove(baseline);
    await waitUntil(() => v.open === 0, 'the VMM side to see the close');
  });

  test('a reply of more than 32 bytes without a newline is a protocol error, whatever follows', async () => {
    await scripted((s) => void s.write(Buffer.alloc(4096, 0x41)));
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('protocol');
    expect(error.message).toContain('32 bytes and no newline');
    expect(error.message).toContain(`"${'A'.repeat(32)}"`);
    await noPipeHandlesLeftAbove(baseline);
  });

  test('a reply longer than 32 bytes even with a newline is refused', async () => {
    await scripted((s) => void s.write(`OK ${'1'.repeat(40)}\n`));
    expect(expectErr(await connectHybrid(at(52))).kind).toBe('protocol');
  });

  test('a u32 overflow in the OK line is a protocol error', async () => {
    await scripted((s) => void s.write('OK 4294967296\n'));
    expect(expectErr(await connectHybrid(at(52))).message).toContain('"OK 4294967296\\n"');
  });

  test('a reply cut short by EOF is a protocol error naming what came', async () => {
    await scripted((s) => void s.end('OK 10'));
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('protocol');
    expect(error.message).toContain('in the middle of its reply');
    expect(error.message).toContain('"OK 10"');
  });

  test('EOF before any reply: refused, saying the VMM closed the connection', async () => {
    await scripted((s) => void s.end());
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('refused');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain('closed the connection before acknowledging CONNECT 52');
    expect(error.message).toContain('no guest listener on port 52');
    await noPipeHandlesLeftAbove(baseline);
  });

  test('a VMM that drops the stream with our request unread (ECONNRESET) is refused as well', async () => {
    // The request stays unread in the VMM's socket; closing it then makes Linux reset ours.
    const server = createServer({ pauseOnConnect: true }, (s) => setTimeout(() => s.destroy(), 20));
    await new Promise<void>((resolve) => server.listen(uds, () => resolve()));
    try {
      const error = expectErr(await connectHybrid(at(52)));
      expect(error.kind).toBe('refused');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('connectHybrid: the bytes after the OK line', () => {
  test('an OK line dribbled one byte at a time, then data the same way: nothing lost, nothing doubled', async () => {
    await scripted(async (s) => {
      await dribble(s, Buffer.from('oK 1073741999\nguest says hi'));
      s.end();
    });
    const flow = expectOk(await connectHybrid(at(52)));
    expect(flow.ackPort).toBe(1073741999);
    expect((await readAll(flow)).toString()).toBe('guest says hi');
    flow.abort();
  });

  test('OK and the first data in one write, then EOF: the data is read first, then EOF', async () => {
    await scripted((s) => void s.end('OK 5\nfirst bytes'));
    const flow = expectOk(await connectHybrid(at(52)));
    expect(flow.ackPort).toBe(5);
    expect((await readAll(flow)).toString()).toBe('first bytes');
    flow.abort();
  });

  test('OK followed by 1 MiB in the same write arrives intact (sha256), with later writes in order', async () => {
    const first = randomBytes(1024 * 1024);
    const later = randomBytes(4096);
    await scripted((s) => {
      s.write(Buffer.concat([Buffer.from('OK 77\n'), first]));
      s.end(later);
    });
    const flow = expectOk(await connectHybrid(at(52), { bufferSize: 8192 }));
    const all = await readAll(flow);
    expect(sha256(all)).toBe(sha256(Buffer.concat([first, later])));
    flow.abort();
  });

  test('the flow writes after the request: the VMM sees CONNECT, then our data', async () => {
    let got = Buffer.alloc(0);
    await scripted((s) => {
      s.write('OK 1\n');
      s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      s.resume();
    });
    const flow = expectOk(await connectHybrid(at(52)));
    expectOk(await flow.write(Buffer.from('payload')));
    await waitUntil(() => got.length === 7, 'the payload');
    expect(got.toString()).toBe('payload');
    expect(vmm?.commands).toEqual([Buffer.from('CONNECT 52\n')]);
    flow.abort();
  });
});

describe('connectHybrid: the VMM socket', () => {
  test('a missing socket file: not-found, saying the VMM socket does not exist', async () => {
    const error = expectErr(await connectHybrid(at(52, join(tmp.dir, 'absent.sock'))));
    expect(error.kind).toBe('not-found');
    expect(error.code).toBe('ENOENT');
    expect(error.message).toContain('does not exist');
  });

  test('a socket file nobody listens on: refused, saying no VMM listens', async () => {
    makeStaleSocket(uds);
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(52)));
    expect(error.kind).toBe('refused');
    expect(error.message).toContain(`no VMM listens on ${uds}`);
    await noPipeHandlesLeftAbove(baseline);
  });

  test(`a path longer than ${maxSocketPathBytes()} bytes: invalid, and nothing is opened`, async () => {
    const long = join(tmp.dir, 'x'.repeat(maxSocketPathBytes()));
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(52, long)));
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain(`at most ${maxSocketPathBytes()} bytes`);
    expect(pipeHandles()).toBe(baseline);
  });

  test('a path of exactly the longest length is used as is', async () => {
    const longest = join(tmp.dir, 'y'.repeat(maxSocketPathBytes() - tmp.dir.length - 1));
    expect(Buffer.byteLength(longest)).toBe(maxSocketPathBytes());
    const error = expectErr(await connectHybrid(at(52, longest)));
    expect(error.kind).toBe('not-found');
  });

  test('bad arguments are programmer errors', () => {
    expect(() => connectHybrid(at(-1))).toThrow(RangeError);
    expect(() => connectHybrid(at(2 ** 32))).toThrow(RangeError);
    expect(() => connectHybrid({ ...at(1), path: '' })).toThrow(TypeError);
    expect(() => connectHybrid({ kind: 'hyperkit', dir: '/x', port: 1 } as unknown as HybridVsockAddress)).toThrow(TypeError);
    expect(() => connectHybrid(at(1), { timeoutMs: -1 })).toThrow(RangeError);
    expect(() => connectHybrid({ ...at(1), timeoutMs: Number.NaN })).toThrow(RangeError);
    expect(() => connectHybrid({ ...at(1), timeoutMs: -Infinity })).toThrow(RangeError);
    expect(() => connectHybrid(at(1), { bufferSize: 0 })).toThrow(RangeError);
    expect(() => connectHybrid({ ...at(1), ack: 'maybe' as 'none' })).toThrow(RangeError);
  });
});

describe('listenHybrid', () => {
  test('binds <uds>_<port>, hands out guest connections, close removes the file and leaves live flows alone', async () => {
    const listener = expectOk(await listenHybrid(at(52)));
    expect(existsSync(`${uds}_52`)).toBe(true);
    const guest = netConnect({ path: `${uds}_52` });
    const flow = expectOk(await listener.accept());
    expect(listener.connections).toBe(1);
    await listener.close();
    expect(listener.closedForAccept).toBe(true);
    expect(existsSync(`${uds}_52`)).toBe(false);
    expect(expectErr(await listener.accept()).kind).toBe('closed');
    guest.end('still here');
    expect((await readAll(flow)).toString()).toBe('still here');
    flow.abort();
    guest.destroy();
  });

  test('a stale socket file at <uds>_<port> (a crashed process) is removed and bound', async () => {
    makeStaleSocket(`${uds}_52`);
    const listener = expectOk(await listenHybrid(at(52)));
    const guest = netConnect({ path: `${uds}_52` });
    expectOk(await listener.accept()).abort();
    guest.destroy();
    await listener.close();
  });

  test('with unlinkStale: false a stale file is left and the error says what to do', async () => {
    makeStaleSocket(`${uds}_52`);
    const error = expectErr(await listenHybrid(at(52), { unlinkStale: false }));
    expect(error.kind).toBe('in-use');
    expect(error.message).toContain('stale socket file');
    expect(existsSync(`${uds}_52`)).toBe(true);
  });

  test('a live listener is never unlinked: in-use, and the first listener keeps working', async () => {
    const first = expectOk(await listenHybrid(at(52)));
    const error = expectErr(await listenHybrid(at(52)));
    expect(error.kind).toBe('in-use');
    expect(error.message).toContain('another process is listening');
    const guest = netConnect({ path: `${uds}_52` });
    expectOk(await first.accept()).abort();
    guest.destroy();
    await first.close();
  });

  test('a path that is not a socket is never removed', async () => {
    writeFileSync(`${uds}_52`, 'precious');
    const error = expectErr(await listenHybrid(at(52)));
    expect(error.kind).toBe('in-use');
    expect(error.message).toContain('not a socket');
    expect(statSync(`${uds}_52`).isFile()).toBe(true);
  });

  test.each([0o600, 0o660, 0o666])('mode %o is set on the socket file before the listener is handed out', async (mode) => {
    const listener = expectOk(await listenHybrid(at(52), { mode }));
    expect(statSync(`${uds}_52`).mode & 0o777).toBe(mode);
    await listener.close();
  });

  test('a missing directory: not-found', async () => {
    const error = expectErr(await listenHybrid(at(52, join(tmp.dir, 'no', 'such', 'v.sock'))));
    expect(error.kind).toBe('not-found');
  });

  test('a socket path that only the _<port> suffix makes too long: invalid', async () => {
    const base = join(tmp.dir, 'z'.repeat(maxSocketPathBytes() - tmp.dir.length - 1 - 3));
    expect(Buffer.byteLength(`${base}_52`)).toBe(maxSocketPathBytes());
    expectOk(await listenHybrid(at(52, base))).close();
    const error = expectErr(await listenHybrid(at(520, base)));
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain(`${base}_520`);
  });

  test('maxConnections: a connection beyond the limit is closed at once', async () => {
    const listener = expectOk(await listenHybrid(at(52), { maxConnections: 1 }));
    const first = netConnect({ path: `${uds}_52` });
    const flow = expectOk(await listener.accept());
    const second = netConnect({ path: `${uds}_52` });
    second.on('error', () => undefined);
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    expect(listener.connections).toBe(1);
    await listener.closeAll();
    expect(flow.state).toBe('aborted');
    first.destroy();
  });

  test('accept with an aborted signal, and async iteration ending at close', async () => {
    const listener = expectOk(await listenHybrid(at(52)));
    expect(expectErr(await listener.accept({ signal: AbortSignal.abort() })).kind).toBe('aborted');
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const flow of listener) {
        seen.push((await readBytes(flow, 2)).toString());
        flow.abort();
      }
    })();
    const guest = netConnect({ path: `${uds}_52` });
    guest.write('hi');
    await waitUntil(() => seen.length === 1, 'the accepted flow');
    await listener.close();
    await iterating;
    expect(seen).toEqual(['hi']);
    guest.destroy();
  });

  test('closeAll with a timeout gives live flows the close handshake', async () => {
    const listener = expectOk(await listenHybrid(at(52)));
    const guest = netConnect({ path: `${uds}_52`, allowHalfOpen: true });
    guest.on('end', () => guest.end());
    const flow = expectOk(await listener.accept());
    await listener.closeAll({ timeoutMs: 5000 });
    expect(flow.state).toBe('closed');
  });

  test('bad arguments are programmer errors', () => {
    expect(() => listenHybrid(at(-1))).toThrow(RangeError);
    expect(() => listenHybrid(at(1), { mode: 0o10000 })).toThrow(RangeError);
    expect(() => listenHybrid(at(1), { backlog: 0 })).toThrow(RangeError);
    expect(() => listenHybrid(at(1), { maxConnections: 0 })).toThrow(RangeError);
  });
});
