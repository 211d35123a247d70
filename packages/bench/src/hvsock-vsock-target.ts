import { createHash, type Hash } from 'node:crypto';
import { EOF, FlowError, type Flow } from '@flow/core';
import { listenVsock } from '@flow/hvsock';
import { MODE_ECHO, MODE_SINK, SINK_HEADER_BYTES, SINK_REPLY_BYTES } from './protocol';

const ANY = 0xffffffff;

/** The guest end of the vsock bench: the bench's sink and echo on an AF_VSOCK port. */
export interface VsockTarget {
  /** The port the kernel picked (listening on every CID). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on AF_VSOCK (`vsock://:*`, @flow/hvsock with its defaults) and serves the bench's
 * protocol on every connection: the first byte picks a counting sink that replies once the
 * announced length has arrived, or an echo. Only ever started inside user-mode Linux.
 */
export async function startVsockTarget(): Promise<VsockTarget> {
  const listening = await listenVsock({ kind: 'vsock', cid: ANY, port: ANY });
  if (!listening.ok) throw new Error(`cannot listen on AF_VSOCK: ${listening.error.message}`);
  const listener = listening.value;
  void (async () => {
    for await (const flow of listener) void serve(flow);
  })();
  return { port: listener.address.port, close: () => listener.closeAll() };
}

async function serve(flow: Flow): Promise<void> {
  let head: Uint8Array = new Uint8Array(0);
  for (;;) {
    const r = await flow.read();
    if (!r.ok || r.value === EOF) return void flow.abort();
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value]);
    if (head[0] === MODE_ECHO) return echo(flow, head.subarray(1));
    if (head[0] !== MODE_SINK) return void flow.abort(new FlowError('protocol', `unknown mode byte ${head[0]}`));
    if (head.length >= SINK_HEADER_BYTES) {
      const header = Buffer.from(head.buffer, head.byteOffset, SINK_HEADER_BYTES);
      return sink(flow, Number(header.readBigUInt64BE(1)), header[9] === 1, head.subarray(SINK_HEADER_BYTES));
    }
  }
}

/** Counts (and hashes) until `length` bytes came, replies, then waits for the client's end. */
async function sink(flow: Flow, length: number, verify: boolean, first: Uint8Array): Promise<void> {
  const hash: Hash | undefined = verify ? createHash('sha256') : undefined;
  let received = first.length;
  hash?.update(first);
  while (received < length) {
    const r = await flow.read();
    if (!r.ok || r.value === EOF) return void flow.abort();
    received += r.value.length;
    hash?.update(r.value);
  }
  const reply = Buffer.alloc(SINK_REPLY_BYTES);
  reply.writeBigUInt64BE(BigInt(received), 0);
  if (hash) hash.digest().copy(reply, 8);
  if (!(await flow.write(reply, { transfer: true })).ok) return;
  await drainAndClose(flow);
}

async function echo(flow: Flow, first: Uint8Array): Promise<void> {
  if (first.length > 0 && !(await flow.write(first, { transfer: true })).ok) return;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return;
    if (r.value === EOF) break;
    if (!(await flow.write(r.value, { transfer: true })).ok) return;
  }
  await flow.close();
}

async function drainAndClose(flow: Flow): Promise<void> {
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return;
    if (r.value === EOF) break;
  }
  await flow.close();
}
