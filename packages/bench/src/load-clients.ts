import { connect, type Socket } from 'node:net';
import { ChunkPlan } from './chunks';
import {
  MODE_ECHO,
  MODE_SINK,
  MODE_SLOW,
  SINK_HEADER_BYTES,
  SINK_REPLY_BYTES,
  type BulkReply,
  type BulkRequest,
  type Destination,
  type PingReply,
  type PingRequest,
  type SlowReply,
  type SlowRequest,
} from './protocol';
import { mean, quantile } from './summary';
import { slowBytesReceived } from './target-server';

/** No single phase may run longer than this, whatever the settings. */
const PHASE_LIMIT_MS = 120_000;

function open(to: Destination): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in to ? connect({ path: to.path }) : connect({ host: '127.0.0.1', port: to.port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
    socket.end();
    // A proxy that never passes our FIN on must not hold the benchmark.
    setTimeout(() => socket.destroy(), 2000).unref();
  });
}

/** Pushes `bytes` to the sink as fast as the socket accepts them; timed until the sink's reply. */
export async function bulk(req: BulkRequest): Promise<BulkReply> {
  const plan = new ChunkPlan(req.bytes, req.chunkSize, req.verify ? 'verify' : 'shared');
  const expected = req.verify ? plan.digest() : undefined;
  const socket = await open(req);
  const t0 = performance.now();
  const reply = new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`bulk did not finish within ${PHASE_LIMIT_MS} ms`)), PHASE_LIMIT_MS);
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= SINK_REPLY_BYTES) {
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      }
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('the connection closed before the sink replied'));
    });
  });
  const header = Buffer.alloc(SINK_HEADER_BYTES);
  header[0] = MODE_SINK;
  header.writeBigUInt64BE(BigInt(req.bytes), 1);
  header[9] = req.verify ? 1 : 0;
  socket.write(header);
  let i = 0;
  const pump = (): void => {
    while (i < plan.count) {
      if (!socket.write(plan.chunk(i++))) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
  let answer: Buffer;
  try {
    answer = await reply;
  } finally {
    socket.removeAllListeners('close');
  }
  const seconds = (performance.now() - t0) / 1000;
  await closeSocket(socket);
  const bytes = Number(answer.readBigUInt64BE(0));
  const digestMatches = expected === undefined ? undefined : answer.subarray(8, 40).toString('hex') === expected;
  return { bytes, seconds, digestMatches };
}

/** 1-byte ping-pong through the echo: one round trip at a time, each timed. */
export async function ping(req: PingRequest): Promise<PingReply> {
  const socket = await open(req);
  socket.on('error', () => undefined);
  let waiting: ((ok: boolean) => void) | undefined;
  socket.on('data', (d: Buffer) => {
    // Exactly one byte is in flight, so every chunk is the whole answer.
    if (d.length > 0) waiting?.(true);
  });
  socket.once('close', () => waiting?.(false));
  const roundTrip = (): Promise<boolean> =>
    new Promise((resolve) => {
      waiting = resolve;
      socket.write(PING);
    });
  socket.write(Buffer.of(MODE_ECHO));
  const deadline = performance.now() + PHASE_LIMIT_MS;
  const samples: number[] = [];
  for (let n = 0; n < req.warmup + req.count && performance.now() < deadline; n += 1) {
    const t0 = process.hrtime.bigint();
    if (!(await roundTrip())) throw new Error('the echo connection closed during ping-pong');
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (n >= req.warmup) samples.push(us);
  }
  await closeSocket(socket);
  return summarisePings(samples);
}

export function summarisePings(samples: number[]): PingReply {
  samples.sort((x, y) => x - y);
  return { count: samples.length, p50us: quantile(samples, 0.5), p99us: quantile(samples, 0.99), meanUs: mean(samples) ?? NaN, samples };
}

const PING = Buffer.of(0x70);

/**
 * Waits (at most 5 s) until the slow receivers stop getting bytes, so that what a proxy still
 * held when its senders vanished does not count for the next path.
 */
async function quiet(): Promise<void> {
  let last = slowBytesReceived();
  let still = 0;
  for (let i = 0; i < 50 && still < 3; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    const now = slowBytesReceived();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/**
 * Several senders push as fast as backpressure lets them towards receivers that read slowly, for
 * a fixed time; whatever sits in between (a proxy) has to hold the difference or push back.
 */
export async function slow(req: SlowRequest): Promise<SlowReply> {
  const chunk = Buffer.alloc(req.chunkSize, 0x61);
  const receivedBefore = slowBytesReceived();
  let sent = 0;
  const sockets = await Promise.all(Array.from({ length: req.connections }, () => open({ port: req.port })));
  const stopAt = performance.now() + Math.min(req.seconds * 1000, PHASE_LIMIT_MS);
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.on('error', () => resolve());
          socket.write(Buffer.of(MODE_SLOW));
          const pump = (): void => {
            while (performance.now() < stopAt) {
              const more = socket.write(chunk, () => undefined);
              sent += chunk.length;
              if (!more) {
                socket.once('drain', pump);
                return;
              }
            }
            resolve();
          };
          pump();
          // A drain that never comes ends the phase at the deadline all the same.
          setTimeout(resolve, stopAt - performance.now() + 100).unref();
        }),
    ),
  );
  const received = slowBytesReceived() - receivedBefore;
  for (const s of sockets) s.destroy();
  await quiet();
  return { sent, received };
}
