// A Unix-domain peer that resets (closes with bytes we sent still unread: Linux then sets
// ECONNRESET on our socket) must be noticed at once by a flow that is not reading, on both paths:
// - pure: core's paused probe reads SO_ERROR through the installed SocketErrorReader;
// - fast: the engine, while it waits for its destination, watches the source for a hang-up.
// A peer that closes cleanly must still have every byte delivered, then EOF.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDuplex, installSocketErrorReader, proxy, type Flow, type ProxyResult } from '@flow/core';
import { fastCopySocketErrorReader } from '../src';
import { abortAll, drain, flowPair, PATHS, sha256 } from './support/flows';
import { giveBack, lend, start } from './support/copy';

const sockets: Socket[] = [];
const flows: Flow[] = [];
const dirs: string[] = [];

afterEach(() => {
  installSocketErrorReader(undefined);
  abortAll();
  for (const f of flows.splice(0)) f.abort();
  for (const s of sockets.splice(0)) s.destroy();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A Unix-domain connection: `near` (accepted, not reading: it can be lent or wrapped) and `far`,
 * which never starts reading (paused before it connected), so that bytes sent to it stay in its
 * kernel receive queue and its close is a reset.
 */
async function unixConnection(): Promise<{ near: Socket; far: Socket }> {
  const dir = mkdtempSync(join(tmpdir(), 'fast-copy-unix-reset-'));
  dirs.push(dir);
  const path = join(dir, 's');
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const far = connect({ path, allowHalfOpen: true });
  far.pause();
  await new Promise<void>((resolve, reject) => far.once('connect', resolve).once('error', reject));
  const near = await accepted;
  server.close();
  far.on('error', () => undefined);
  near.on('error', () => undefined);
  sockets.push(near, far);
  return { near, far };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the milliseconds until `socket` closed, or rejects after `limitMs`. */
function closedWithin(socket: Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve(0);
    const timer = setTimeout(() => reject(new Error(`the socket was still open after ${limitMs} ms`)), limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** Writes `data` and resolves once the kernel took all of it. */
function writeAll(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
}

/** A flow over `near` as @flow/tcp makes it, with a small high-water mark so that it pauses soon. */
function pausingFlow(near: Socket): Flow {
  near.resume();
  const flow = fromDuplex(near, { detectReset: true, highWaterMark: 64 * 1024 });
  flows.push(flow);
  return flow;
}

describe('a paused Unix-domain flow (pure path)', () => {
  test('with the reader installed, a peer that resets fails the flow as reset within the probe interval, without a read', async () => {
    installSocketErrorReader(fastCopySocketErrorReader);
    const { near, far } = await unixConnection();
    const flow = pausingFlow(near);
    // Bytes the far end never reads: its close will be a reset.
    expect((await flow.write(Buffer.from('unread by the peer'))).ok).toBe(true);
    // More than the flow buffers and the kernel queues: the flow pauses, the far end's writes wait.
    far.write(randomBytes(2 * 1024 * 1024));
    await sleep(300);
    far.destroy();
    const ms = await closedWithin(near, 3000);
    expect(ms).toBeLessThan(3000);
    expect((await drain(flow)).end).toBe('reset');
  });

  test('without a reader, it learns of the reset only when it reads again, after the bytes sent before', async () => {
    const { near, far } = await unixConnection();
    const flow = pausingFlow(near);
    expect((await flow.write(Buffer.from('unread by the peer'))).ok).toBe(true);
    const sent = randomBytes(192 * 1024);
    await writeAll(far, sent);
    far.destroy();
    await sleep(2500);
    expect(near.destroyed).toBe(false);
    const got = await drain(flow);
    expect(got.end).toBe('reset');
    expect(sha256(got.data)).toBe(sha256(sent));
  });

  test('with the reader installed, a peer that closes cleanly still has every byte delivered, then EOF', async () => {
    installSocketErrorReader(fastCopySocketErrorReader);
    const { near, far } = await unixConnection();
    const flow = pausingFlow(near);
    const sent = randomBytes(192 * 1024);
    await writeAll(far, sent);
    far.end();
    await new Promise<void>((resolve) => (far.writableFinished ? resolve() : far.once('finish', () => resolve())));
    // Nothing unread at the far end: a clean close.
    far.destroy();
    await sleep(2500);
    expect(near.destroyed).toBe(false);
    const got = await drain(flow);
    expect(got.end).toBe('eof');
    expect(sha256(got.data)).toBe(sha256(sent));
  });

  test('the reader answers 0 for a live socket, ECONNRESET once after a reset, and undefined for what is not a socket', async () => {
    const { near, far } = await unixConnection();
    const fd = (near as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fastCopySocketErrorReader.socketError(fd)).toBe(0);
    near.write('unread');
    await sleep(50);
    far.destroy();
    await sleep(50);
    expect(fastCopySocketErrorReader.socketError(fd)).toBe(104);
    // Reading it cleared it.
    expect(fastCopySocketErrorReader.socketError(fd)).toBe(0);
    expect(fastCopySocketErrorReader.socketError(0x7ffffff0)).toBeUndefined();
    expect(fastCopySocketErrorReader.socketError(-1)).toBeUndefined();
  });
});

describe('the engine waiting on its destination (fast path)', () => {
  test('a source whose peer resets ends the copy at once as a read error, ECONNRESET', async () => {
    const source = await unixConnection();
    const destination = await unixConnection();
    // Bytes the source's far end never reads: its close will be a reset.
    await writeAll(source.near, Buffer.from('unread by the peer'));
    const copy = start(lend(source.near), lend(destination.near));
    // The destination's far end never reads: the engine fills it and then waits on it.
    source.far.write(randomBytes(4 * 1024 * 1024));
    await sleep(300);
    const started = Date.now();
    source.far.destroy();
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([copy.done, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 3000)))]);
    clearTimeout(timer);
    const ms = Date.now() - started;
    copy.stop();
    giveBack(source.near);
    giveBack(destination.near);
    expect(result?.outcome).toBe('error');
    expect(result?.failedSide).toBe('read');
    expect(result?.error?.kind).toBe('reset');
    expect(result?.error?.code).toBe('ECONNRESET');
    // No probe timer is involved here: the hang-up itself ends it.
    expect(ms).toBeLessThan(1000);
  });

  test('a source whose peer closes cleanly does not end the copy: every byte arrives once the destination reads, then EOF', async () => {
    const source = await unixConnection();
    const destination = await unixConnection();
    const copy = start(lend(source.near), lend(destination.near));
    const sent = randomBytes(384 * 1024);
    const written = writeAll(source.far, sent);
    await sleep(300);
    source.far.end();
    // The engine is now waiting on the destination (it holds far more than one buffer's worth):
    // the hang-up it sees is clean.
    await written;
    await new Promise<void>((resolve) => (source.far.writableFinished ? resolve() : source.far.once('finish', () => resolve())));
    source.far.destroy();
    await sleep(500);
    expect(copy.activity()).toBeGreaterThan(0);
    const chunks: Buffer[] = [];
    destination.far.on('data', (c: Buffer) => chunks.push(c));
    destination.far.resume();
    const result = await copy.done;
    giveBack(source.near);
    giveBack(destination.near);
    expect(result.outcome).toBe('eof');
    await sleep(50);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(sent));
  });
});

describe.each(PATHS)('proxy, %s path, with the reader installed', (path, accelerator) => {
  test('a Unix client that fills the path to a server that does not read, then resets: the proxy ends with reset at once', async () => {
    installSocketErrorReader(fastCopySocketErrorReader);
    const client = await unixConnection();
    client.near.resume();
    const a = fromDuplex(client.near, { detectReset: true, lendDescriptor: true });
    flows.push(a);
    // The server end reads nothing (its flow buffers a little, then pauses).
    const server = await flowPair('unix');
    const running = proxy(a, server.near, { accelerator });
    // A greeting the client never reads: its close will be a reset.
    expect((await server.far.write(Buffer.from('greeting'))).ok).toBe(true);
    client.far.write(Buffer.alloc(16 * 1024 * 1024, 0x5a));
    await sleep(500);
    const started = Date.now();
    client.far.destroy();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([running, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5000)))]);
    clearTimeout(timer);
    const ms = Date.now() - started;
    const result = r as ProxyResult | undefined;
    expect(result?.aToB.path).toBe(path);
    expect(result?.aToB.outcome).toBe('error');
    expect(result?.aToB.error?.kind).toBe('reset');
    // Within the paused probe's interval (1 s) and some slack for a loaded machine.
    expect(ms).toBeLessThan(2500);
    // The server's connection was freed: it reads what got through, then the end (not a hang).
    expect(['eof', 'reset', 'closed']).toContain((await drain(server.far)).end);
  });
});
