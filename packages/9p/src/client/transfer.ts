// Moving a file's bytes: reading a whole file as a stream of pieces and writing one from a
// source, each with a window of pipelined Treads or Twrites so that latency is not paid per
// piece, and memory held bounded by the window whatever the file's size.
import { err, FlowError, fromNodeError, ok, type Result } from '@flow/core';
import { LFLAGS, OMODE } from '../wire/constants';
import type { MessageOf } from '../wire/types';
import type { StreamStep } from './options';
import { chunkSize, openFid, splitPath, withFid } from './paths';
import type { RpcSession } from './rpc-session';

/** Runs a caller's step; a throw or an error result becomes an error value that names `what`. */
async function runStep(step: () => StreamStep | Promise<StreamStep>, what: string): Promise<Result<void, FlowError>> {
  try {
    const r = await step();
    return r === undefined || r.ok ? ok(undefined) : r;
  } catch (cause) {
    return err(cause instanceof FlowError ? cause : fromNodeError(cause, what));
  }
}

/** See `Client9p.readStream`; `window` Treads are in flight at once. */
export async function readStream(
  session: RpcSession,
  window: number,
  path: string,
  onData: (data: Uint8Array) => StreamStep | Promise<StreamStep>,
  options: { signal?: AbortSignal; maxBytes?: number },
): Promise<Result<number, FlowError>> {
  const signal = options.signal;
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
  return withFid(
    session,
    path,
    async (fid) => {
      const o = await openFid(session, fid, 'read');
      if (!o.ok) return o;
      const chunk = chunkSize(session, o.value);
      let offset = 0;
      for (;;) {
        // Pipeline a window of reads; on a short read, later answers are discarded and reading
        // continues from where the short one ended, so any server's semantics are honoured.
        const batch: Promise<Result<MessageOf<'Rread'>, FlowError>>[] = [];
        for (let i = 0; i < window; i++) {
          batch.push(session.call({ type: 'Tread', fid, offset: BigInt(offset + i * chunk), count: chunk }, 'Rread', signal));
        }
        const results = await Promise.all(batch);
        let eof = false;
        for (const r of results) {
          if (!r.ok) return r;
          const data = r.value.data;
          if (data.length > chunk) return err(new FlowError('protocol', `Rread returned ${data.length} bytes for ${chunk}`));
          if (data.length === 0) {
            eof = true;
            break;
          }
          if (offset + data.length > maxBytes) return err(new FlowError('limit', `${path} is larger than ${maxBytes} bytes`));
          const step = await runStep(() => onData(Buffer.from(data)), 'readStream: the consumer of the data failed');
          if (!step.ok) return step;
          offset += data.length;
          if (data.length < chunk) break;
        }
        if (signal?.aborted) return err(new FlowError('aborted', 'readStream aborted'));
        if (eof) return ok(offset);
      }
    },
    signal,
  );
}

/** See `Client9p.writeStream`; `window` Twrites are in flight at once. */
export async function writeStream(
  session: RpcSession,
  window: number,
  path: string,
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<Result<number, FlowError>> {
  const opened = await openForWriting(session, path);
  if (!opened.ok) return opened;
  const { fid, iounit } = opened.value;
  const chunk = chunkSize(session, iounit);
  const want = window * chunk;
  const iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let staged: Uint8Array = new Uint8Array(0);
  let written = 0;
  let ended = false;
  let sourceFailure: FlowError | undefined;
  let writeFailure: FlowError | undefined;
  while (!writeFailure) {
    // Take from the source until a window's worth is staged (or it ended or failed).
    const pieces: Uint8Array[] = staged.length > 0 ? [staged] : [];
    let stagedBytes = staged.length;
    while (!ended && stagedBytes < want) {
      const next = await runStep(async () => {
        const n = await iterator.next();
        if (n.done) ended = true;
        else {
          if (!(n.value instanceof Uint8Array)) throw new TypeError('writeStream: the source must yield Uint8Arrays');
          if (n.value.length > 0) pieces.push(n.value);
          stagedBytes += n.value.length;
        }
      }, 'writeStream: the source of the data failed');
      if (!next.ok) {
        // What the source gave before it failed is still written: nothing taken is lost.
        sourceFailure = next.error;
        ended = true;
      }
    }
    staged = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    if (staged.length === 0) break;
    const round = await writeRound(session, window, fid, chunk, staged.subarray(0, Math.min(want, staged.length)), written);
    if (!round.ok) {
      writeFailure = round.error;
      break;
    }
    written += round.value;
    staged = staged.subarray(round.value);
  }
  if (writeFailure && !ended) await runStep(async () => void (await iterator.return?.()), 'writeStream: closing the source');
  const failure = writeFailure ?? sourceFailure;
  const c = await session.clunk(fid);
  if (failure) return err(failure);
  return c.ok ? ok(written) : c;
}

/** Walks to `path` and opens it truncated for writing, or creates it (mode 0644) if missing. */
async function openForWriting(session: RpcSession, path: string): Promise<Result<{ fid: number; iounit: number }, FlowError>> {
  const names = splitPath(path);
  const name = names.pop();
  if (name === undefined) return err(new FlowError('invalid', 'writing needs a file name'));
  const existing = await session.walk([...names, name]);
  if (existing.ok) {
    const fid = existing.value;
    const o = await openFid(session, fid, 'write-trunc');
    if (!o.ok) {
      await session.clunk(fid);
      return o;
    }
    return ok({ fid, iounit: o.value });
  }
  if (existing.error.kind !== 'not-found') return existing;
  const d = await session.walk(names);
  if (!d.ok) return d;
  const fid = d.value;
  const c =
    session.dialect === '9P2000.L'
      ? await session.call({ type: 'Tlcreate', fid, name, flags: LFLAGS.WRONLY | LFLAGS.TRUNC, mode: 0o644, gid: process.getgid?.() ?? 0 }, 'Rlcreate')
      : await session.call({ type: 'Tcreate', fid, name, perm: 0o644, mode: OMODE.WRITE, extension: '' }, 'Rcreate');
  if (!c.ok) {
    await session.clunk(fid);
    return c;
  }
  return ok({ fid, iounit: c.value.iounit });
}

/**
 * Writes all of `data` at file offset `base` in one or more pipelined batches of Twrites, and
 * resolves with the bytes the server accepted in a row from the start of `data`.
 */
async function writeRound(session: RpcSession, window: number, fid: number, chunk: number, data: Uint8Array, base: number): Promise<Result<number, FlowError>> {
  let offset = 0;
  while (offset < data.length) {
    const batch: { at: number; len: number; p: Promise<Result<MessageOf<'Rwrite'>, FlowError>> }[] = [];
    for (let i = 0; i < window && offset + i * chunk < data.length; i++) {
      const at = offset + i * chunk;
      const piece = data.subarray(at, Math.min(at + chunk, data.length));
      batch.push({ at, len: piece.length, p: session.call({ type: 'Twrite', fid, offset: BigInt(base + at), data: piece }, 'Rwrite') });
    }
    for (const b of batch) {
      const r = await b.p;
      if (!r.ok) return r;
      if (r.value.count === 0) return err(new FlowError('io', 'server accepted no bytes'));
      if (b.at === offset) offset += Math.min(r.value.count, b.len);
      // A short write: what follows is rewritten from the new offset.
      if (r.value.count < b.len) break;
    }
  }
  return ok(offset);
}
