import { mkdirSync, writeFileSync } from 'node:fs';
import { EOF, pair, type Flow } from '@flow/core';
import { SimXenstored } from '../src/sim/xenstored/server';
import type { SimXenstoredListener } from '../src/sim/xenstored/socket-listener';
import {
  connectXenstore,
  decodeHeader,
  encodeFrame,
  FrameDecoder,
  openXenbusDevice,
  XenstoreClient,
  xenbusDevicePath,
  XsType,
  XS_HEADER_SIZE,
  type XsWatch,
} from '../src/xenstore';
import { fdsOn } from './support/fds-on';
import { failure, tempDir, until, value } from './support/xenstore-support';
import { startXenbusPty, type XenbusPty } from './support/xenbus-pty';

// The xenstore client over the xenbus device transport (the addon's non-blocking byte stream),
// tested for real without Xen: a pty is a pollable character device with byte-stream semantics,
// and socat joins it to the simulated xenstored's Unix socket. The same operations run over the
// Unix socket too, so that both transports are held to one behaviour.

interface Transport {
  readonly name: string;
  /** The largest payload the client sends on it. */
  readonly payloadMax: number;
  open(socket: string, dir: string): Promise<{ client: XenstoreClient; stop(): Promise<void> }>;
}

const transports: readonly Transport[] = [
  {
    name: 'the Unix socket',
    payloadMax: 4096,
    open: async (socket) => ({ client: value(await connectXenstore({ path: socket })), stop: async () => {} }),
  },
  {
    name: 'the xenbus device (a pty joined to xenstored by socat)',
    payloadMax: 4096 - XS_HEADER_SIZE,
    open: async (socket, dir) => {
      const pty: XenbusPty = await startXenbusPty(`${dir}/xenbus`, socket);
      const client = value(await connectXenstore({ path: pty.path }));
      return { client, stop: () => pty.stop() };
    },
  },
];

let server: SimXenstored;
let listener: SimXenstoredListener;
let tmp: { dir: string; remove(): void };
let socket: string;

beforeEach(async () => {
  tmp = tempDir('xs-device-');
  socket = `${tmp.dir}/socket`;
  server = new SimXenstored();
  listener = value(await server.listen(socket));
});

afterEach(async () => {
  await until(() => server.stats.connections === 0, 'every connection to end');
  expect(server.stats).toMatchObject({ connections: 0, watches: 0, transactions: 0 });
  await listener.close();
  await server.close();
  tmp.remove();
});

async function nextPath(w: XsWatch): Promise<string> {
  return value(await w.next());
}

describe.each(transports)('the client over $name', (transport) => {
  let xs: XenstoreClient;
  let stop: () => Promise<void>;

  beforeEach(async () => {
    ({ client: xs, stop } = await transport.open(socket, tmp.dir));
  });

  afterEach(async () => {
    await xs.close();
    await stop();
  });

  it('writes, reads, lists, makes directories, removes', async () => {
    value(await xs.write('/vm/1/name', 'guest'));
    value(await xs.write('/vm/1/bin', new Uint8Array([0x68, 0x69])));
    value(await xs.mkdir('/vm/1/dir'));
    expect(value(await xs.read('/vm/1/name'))).toBe('guest');
    expect(value(await xs.read('/vm/1/bin'))).toBe('hi');
    expect(value(await xs.directory('/vm/1')).sort()).toEqual(['bin', 'dir', 'name']);
    expect(server.tree.readString('/vm/1/name')).toBe('guest');
    value(await xs.rm('/vm/1'));
    expect(failure(await xs.read('/vm/1/name')).code).toBe('ENOENT');
    expect(failure(await xs.rm('/vm/1/x')).code).toBe('ENOENT');
  });

  it('sets and reads permissions', async () => {
    value(await xs.mkdir('/p'));
    const perms = [
      { access: 'n', domid: 3 },
      { access: 'r', domid: 0 },
      { access: 'b', domid: 7 },
    ] as const;
    value(await xs.setPerms('/p', perms));
    expect(value(await xs.getPerms('/p'))).toEqual(perms);
    expect(failure(await xs.setPerms('/missing/x', perms)).code).toBe('ENOENT');
  });

  it('watches: the initial event, changes below the path, and unwatch', async () => {
    const w = value(await xs.watch('/w'));
    expect(await nextPath(w)).toBe('/w');
    value(await xs.write('/w/a', '1'));
    expect(await nextPath(w)).toBe('/w/a');
    await w.close();
    await until(() => server.stats.watches === 0, 'the UNWATCH to arrive');
  });

  it('runs transactions: commits atomically, retries a conflict', async () => {
    const other = value(server.connect(0));
    let runs = 0;
    const r = await xs.transaction(async (tx) => {
      runs += 1;
      const before = await tx.read('/counter');
      const n = before.ok ? Number(before.value) : 0;
      // Another writer commits in between, once: the commit conflicts and the body runs again.
      if (runs === 1) value(await other.write('/counter', '10'));
      const w = await tx.write('/counter', String(n + 1));
      return w.ok ? { ok: true as const, value: n + 1 } : w;
    });
    expect(value(r)).toBe(11);
    expect(runs).toBe(2);
    expect(server.tree.readString('/counter')).toBe('11');
    await other.close();
  });

  it('pipelines many requests and matches every reply', async () => {
    const writes = await Promise.all(Array.from({ length: 100 }, (_, i) => xs.write(`/many/${i}`, `v${i}`)));
    for (const w of writes) value(w);
    const reads = await Promise.all(Array.from({ length: 100 }, (_, i) => xs.read(`/many/${i}`)));
    expect(reads.map(value)).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`));
  });

  it(`sends payloads up to its limit and refuses one byte more without sending it`, async () => {
    const path = '/big';
    const fits = 'x'.repeat(transport.payloadMax - path.length - 1); // path, NUL, value
    value(await xs.write(path, fits));
    expect(server.tree.readString(path)).toBe(fits);
    const e = failure(await xs.write(path, `${fits}x`));
    expect(e).toMatchObject({ kind: 'limit', code: 'E2BIG' });
    expect(xs.isOpen).toBe(true);
    expect(value(await xs.read(path))).toBe(fits);
  });
});

describe('the xenbus device transport', () => {
  it('is found through XENSTORED_PATH when that names a device, as libxenstore does', async () => {
    const pty = await startXenbusPty(`${tmp.dir}/xenbus`, socket);
    const xs = value(await connectXenstore({ env: { XENSTORED_PATH: pty.path } }));
    value(await xs.write('/found', 'yes'));
    expect(server.tree.readString('/found')).toBe('yes');
    // The kernel's connection is a domain's: relative paths are allowed on it.
    expect(xs.allowRelativePaths).toBe(true);
    await xs.close();
    await pty.stop();
  });

  it('names the device places libxenstore tries after the socket', async () => {
    expect(await xenbusDevicePath({ XENSTORED_PATH: '/x/dev' })).toBe('/x/dev');
    // No Xen here: /dev/xen/xenbus is absent, so the xenfs fallback is named.
    expect(await xenbusDevicePath({})).toBe('/proc/xen/xenbus');
    const empty = `${tmp.dir}/empty`;
    mkdirSync(empty);
    const e = failure(await connectXenstore({ env: { XENSTORED_RUNDIR: empty } }));
    expect(e.kind).toBe('not-found');
    expect(e.message).toContain(`${empty}/socket`);
    expect(e.message).toContain('/proc/xen/xenbus');
  });

  it('closes at once while a read is pending, releasing the descriptor', async () => {
    const pty = await startXenbusPty(`${tmp.dir}/xenbus`, socket);
    const xs = value(await openXenbusDevice(pty.path));
    expect(fdsOn(pty.path)).toBe(1);
    const w = value(await xs.watch('/pending'));
    expect(await nextPath(w)).toBe('/pending');
    // The client's read loop now waits on the device, and so does this watch.
    const next = w.next();
    await xs.close();
    expect(fdsOn(pty.path)).toBe(0);
    expect(failure(await next).kind).toBe('closed');
    expect((await xs.ended).kind).toBe('closed');
    await pty.stop();
  });

  it('refuses a path that does not exist, a regular file and a directory, with typed errors', async () => {
    const missing = failure(await openXenbusDevice(`${tmp.dir}/absent`));
    expect(missing).toMatchObject({ kind: 'not-found', code: 'ENOENT' });
    writeFileSync(`${tmp.dir}/file`, 'not a device');
    const file = failure(await openXenbusDevice(`${tmp.dir}/file`));
    expect(file).toMatchObject({ kind: 'unsupported', code: 'ENODEV' });
    expect(file.message).toMatch(/not a xenbus device/);
    expect(failure(await connectXenstore({ path: `${tmp.dir}/file` })).kind).toBe('unsupported');
    mkdirSync(`${tmp.dir}/dir`);
    expect(failure(await openXenbusDevice(`${tmp.dir}/dir`))).toMatchObject({ kind: 'unsupported', code: 'EISDIR' });
    await expect(openXenbusDevice('')).rejects.toThrow(TypeError);
  });

  it('ends pending requests with an error when the other end hangs up', async () => {
    const pty = await startXenbusPty(`${tmp.dir}/xenbus`, socket);
    const xs = value(await openXenbusDevice(pty.path));
    value(await xs.write('/before', '1'));
    const w = value(await xs.watch('/gone'));
    expect(await nextPath(w)).toBe('/gone');
    await pty.stop(); // the pty's master goes: the device reads its end
    const reason = await xs.ended;
    expect(reason.message).toMatch(/server closed the connection/);
    expect(failure(await w.next()).kind).toBe('closed');
    expect(failure(await xs.read('/before')).kind).toBe('closed');
    await xs.close();
  });
});

describe("the xenbus device's own WATCH replies (req_id 0), played by the test", () => {
  // The kernel answers WATCH and UNWATCH itself with a header whose req_id is 0
  // (xenbus_dev_frontend.c xenbus_write_watch); everything else carries the request's id.
  it('matches them to the oldest WATCH or UNWATCH request', async () => {
    const [ours, kernel] = pair();
    const xs = new XenstoreClient(ours, { xenbusDevice: true, allowRelativePaths: true });
    const decoder = new FrameDecoder();
    const kernelSide = playKernel(kernel, decoder);
    const first = xs.watch('/a');
    const second = xs.watch('/b');
    const w1 = value(await first);
    const w2 = value(await second);
    expect(kernelSide.seen.map((f) => f.type)).toEqual([XsType.WATCH, XsType.WATCH]);
    // The events go by token, whatever the header's ids (the kernel leaves them unset).
    expect(await nextPath(w1)).toBe('/a');
    expect(await nextPath(w2)).toBe('/b');
    expect(xs.stats.strayReplies).toBe(0);
    // Without the option, a req_id 0 reply is stray.
    await xs.close();
    kernelSide.stop();
  });

  it('treats a req_id 0 reply as stray on other connections', async () => {
    const [ours, kernel] = pair();
    const xs = new XenstoreClient(ours, { closeTimeoutMs: 50 });
    const kernelSide = playKernel(kernel, new FrameDecoder(), { answerEvents: false });
    const pending = xs.watch('/a');
    await until(() => kernelSide.seen.length === 1, 'the WATCH to arrive');
    expect(xs.stats.strayReplies).toBe(1);
    expect(xs.stats.pendingRequests).toBe(1);
    await xs.close();
    expect(failure(await pending).kind).toBe('closed');
    kernelSide.stop();
  });
});

/** Answers every WATCH the way the Linux xenbus device does: OK with req_id 0, then the initial event. */
function playKernel(flow: Flow, decoder: FrameDecoder, options: { answerEvents?: boolean } = {}) {
  const seen: { type: number; reqId: number }[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const r = await flow.read();
      if (!r.ok || r.value === EOF) break;
      const frames = decoder.push(r.value);
      if (!frames.ok) break;
      for (const f of frames.value) {
        seen.push({ type: f.type, reqId: f.reqId });
        if (f.type !== XsType.WATCH) continue;
        const [path, token] = f.payload.toString('latin1').split('\0');
        await flow.write(encodeFrame({ type: XsType.WATCH, reqId: 0, txId: 0, payload: Buffer.from('OK\0') }));
        if (options.answerEvents !== false) {
          // Garbage ids, as the kernel's uninitialised header leaves them.
          const event = encodeFrame({ type: XsType.WATCH_EVENT, reqId: 0xdead, txId: 0xbeef, payload: Buffer.from(`${path}\0${token}\0`) });
          expect(decodeHeader(event).reqId).toBe(0xdead);
          await flow.write(event);
        }
      }
    }
    flow.abort();
  })();
  return {
    seen,
    stop: () => {
      stopped = true;
      flow.abort();
    },
  };
}
