import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { EOF, type Flow } from '@flow/core';
import { openFdStreamFlow } from '../src/platform/fd-stream-flow';
import { STREAM_READABLE, type StreamHandle } from '../src/platform/native-binding';
import { fdsOn } from './support/fds-on';
import { xen } from './support/native-addon';
import { tempDir } from './support/xenstore-support';

// The addon's non-blocking byte stream (the xenbus device transport) on a FIFO opened read-write:
// a pollable descriptor whose writes come back as reads, with a 64 KiB buffer, so that a large
// write meets EAGAIN, waits for writability and goes on while the reads drain it.

let tmp: { dir: string; remove(): void };
let fifo: string;

beforeEach(() => {
  tmp = tempDir('xen-stream-');
  fifo = `${tmp.dir}/fifo`;
  execFileSync('mkfifo', [fifo]);
});

afterEach(() => tmp.remove());

async function readBytes(flow: Flow, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) throw new Error(`EOF after ${got} of ${n} bytes`);
    parts.push(r.value);
    got += r.value.length;
  }
  return Buffer.concat(parts);
}

describe('the byte stream as a flow', () => {
  it('moves 4 MiB through a 64 KiB FIFO byte-exact, waiting for writability in between', async () => {
    const flow = openFdStreamFlow(xen(), fifo, { highWaterMark: 16 * 1024 });
    if (!flow.ok) throw flow.error;
    const data = randomBytes(4 * 1024 * 1024);
    const [written, echoed] = await Promise.all([flow.value.write(data), readBytes(flow.value, data.length)]);
    expect(written.ok).toBe(true);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(flow.value.stats.bytesAccepted).toBe(data.length);
    await flow.value.close();
    expect(fdsOn(fifo)).toBe(0);
  });

  it('ends a pending read and a blocked write when closed or aborted', async () => {
    const flow = openFdStreamFlow(xen(), fifo, { highWaterMark: 1024 });
    if (!flow.ok) throw flow.error;
    // Nobody reads: the write fills the FIFO and the read buffer, and waits.
    const write = flow.value.write(randomBytes(1024 * 1024));
    flow.value.abort();
    const w = await write;
    expect(!w.ok && w.error.kind).toBe('aborted');
    // What was read before the abort may be handed out; then the read side ends with the abort.
    let r = await flow.value.read();
    while (r.ok && r.value !== EOF) r = await flow.value.read();
    expect(!r.ok && r.error.kind).toBe('aborted');
  });

  it('reports what a path is not', () => {
    const absent = openFdStreamFlow(xen(), `${tmp.dir}/absent`);
    expect(!absent.ok && absent.error).toMatchObject({ kind: 'not-found', code: 'ENOENT' });
  });
});

describe('the addon calls', () => {
  it('read, write, poll and close with errno results; close is idempotent and at once', () => {
    const b = xen();
    const events: number[] = [];
    const handle = b.streamOpen(fifo, (_status, ev) => events.push(ev));
    if (typeof handle === 'number') throw new Error(`streamOpen: ${handle}`);
    expect(fdsOn(fifo)).toBe(1);
    const buf = new Uint8Array(16);
    expect(b.streamRead(handle, buf)).toBe(-11); // EAGAIN: nothing queued
    expect(b.streamWrite(handle, Buffer.from('abc'))).toBe(3);
    expect(b.streamRead(handle, buf)).toBe(3);
    expect(Buffer.from(buf.subarray(0, 3)).toString()).toBe('abc');
    expect(b.streamPoll(handle, 0)).toBe(0);
    expect(b.streamPoll(handle, STREAM_READABLE)).toBe(0);
    b.streamClose(handle);
    expect(fdsOn(fifo)).toBe(0); // closed now, not on a later turn of the loop
    b.streamClose(handle);
    expect(b.streamRead(handle, buf)).toBe(-9); // EBADF
    expect(b.streamWrite(handle, buf)).toBe(-9);
    expect(b.streamPoll(handle, STREAM_READABLE)).toBe(-9);
  });

  it('throws on programmer errors', () => {
    const b = xen();
    const handle = b.streamOpen(fifo, () => {});
    if (typeof handle === 'number') throw new Error(`streamOpen: ${handle}`);
    try {
      // The addon's errors come from Node's realm, not the test's: matched by message.
      expect(() => b.streamRead({} as StreamHandle, new Uint8Array(1))).toThrow('handle must come from streamOpen');
      expect(() => b.streamRead(handle, new Uint8Array(0))).toThrow('target must hold at least one byte');
      expect(() => b.streamWrite(handle, 'text' as unknown as Uint8Array)).toThrow('source must be a Uint8Array or Buffer');
      expect(() => b.streamPoll(handle, 8)).toThrow('events must be an integer from 0 to 3');
      expect(() => b.streamOpen('', () => {})).toThrow(/path must be a non-empty path/);
      expect(() => b.streamOpen(fifo, 'no' as unknown as () => void)).toThrow('callback must be a function');
    } finally {
      b.streamClose(handle);
    }
  });

  it('refuses what epoll cannot poll as ENODEV', () => {
    execFileSync('touch', [`${tmp.dir}/plain`]);
    expect(xen().streamOpen(`${tmp.dir}/plain`, () => {})).toBe(-19);
  });
});
