// File data: Tread and Twrite on an open fid, and Tfsync. A read goes straight into a pooled
// reply buffer when the back end can read in place (readInto), possibly without leaving the
// current tick; directory reads are in directory-reads.ts.
import { fsError, type FsResult, type OpenFile } from '../../fs/filesystem';
import { RREAD_HEADER } from '../../wire/constants';
import { handle } from '../dispatch';
import { type Outcome, type Pending, type Req, type RequestContext, simple } from '../request';
import { readStatDir } from './directory-reads';

/** Tread through the back end's `readInto` when it has one (possibly synchronously), else `read`. */
export function readNow(s: RequestContext, m: Req<'Tread'>, pending: Pending): Outcome | Promise<Outcome> {
  const e = s.fids.get(m.fid);
  const open = e?.open;
  if (open?.kind !== 'file' || !open.read || !open.file.readInto || m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return handle(s, m, pending);
  const count = Math.min(m.count, s.msize - RREAD_HEADER);
  if (count <= 0) return handle(s, m, pending);
  return readIntoFrame(s, m.tag, open.file, Number(m.offset), count);
}

/**
 * Reads up to `count` bytes (1 or more, within msize) at `offset` straight into a pooled reply
 * frame: no allocation, no copy, one write of header and data; the buffer returns to the pool
 * once written. Synchronous when the back end's `readInto` is.
 */
export function readIntoFrame(s: RequestContext, tag: number, file: OpenFile, offset: number, count: number): Outcome | Promise<Outcome> {
  const buffer = s.takeBuffer();
  const frame = (n: FsResult<number>): Outcome => {
    if (!n.ok) {
      s.releaseBuffer(buffer);
      return s.fail(tag, n.error);
    }
    const length = RREAD_HEADER + Math.min(Math.max(0, Math.floor(n.value)), count);
    return { reply: { type: 'Rread', tag, data: buffer.subarray(RREAD_HEADER, length) }, frame: { buffer, length } };
  };
  let r: FsResult<number> | Promise<FsResult<number>>;
  try {
    r = file.readInto!(offset, buffer.subarray(RREAD_HEADER, RREAD_HEADER + count));
  } catch (err) {
    s.releaseBuffer(buffer);
    throw err;
  }
  return r instanceof Promise ? r.then(frame, (err: unknown) => {
    s.releaseBuffer(buffer);
    throw err;
  }) : frame(r);
}

/** Tread: file data, an xattr's value, or (9P2000/.u) a directory's stats. */
export async function read(s: RequestContext, m: Req<'Tread'>, pending: Pending): Promise<Outcome> {
  const t = m.tag;
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(t, r.error);
  const e = r.value;
  const open = e.open;
  if (!open) return s.fail(t, fsError('EBADF', `fid ${m.fid} is not open`));
  if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return s.fail(t, fsError('EINVAL', 'offset too large'));
  const offset = Number(m.offset);
  // Never return more than asked, never more than fits in msize.
  const count = Math.min(m.count, s.msize - RREAD_HEADER);
  if (open.kind === 'xattr') return { reply: { type: 'Rread', tag: t, data: open.data.subarray(offset, offset + count) } };
  if (open.kind === 'none') return s.fail(t, fsError('EBADF'));
  if (open.kind === 'dir') {
    if (s.dialect === '9P2000.L') return s.fail(t, fsError('EISDIR', 'use Treaddir'));
    return readStatDir(s, t, e, open, offset, count);
  }
  if (!open.read) return s.fail(t, fsError('EBADF', 'fid not open for reading'));
  const d = await open.file.read(offset, count, pending.signal);
  if (!d.ok) return s.fail(t, d.error);
  const data = d.value.length > count ? d.value.subarray(0, count) : d.value;
  return { reply: { type: 'Rread', tag: t, data } };
}

/** Twrite: writes at the offset; a flush aborts a write that waits (a stream file's). */
export async function write(s: RequestContext, m: Req<'Twrite'>, signal: AbortSignal): Promise<Outcome> {
  const t = m.tag;
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(t, r.error);
  const open = r.value.open;
  if (open?.kind !== 'file' || !open.write) return s.fail(t, fsError('EBADF', `fid ${m.fid} is not open for writing`));
  if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return s.fail(t, fsError('EFBIG'));
  const w = await open.file.write(Number(m.offset), m.data, signal);
  return w.ok ? { reply: { type: 'Rwrite', tag: t, count: w.value } } : s.fail(t, w.error);
}

/** Tfsync: flushes an open file to stable storage when the back end can. */
export async function fsync(s: RequestContext, m: Req<'Tfsync'>): Promise<Outcome> {
  const t = m.tag;
  const e = s.entry(m.fid);
  if (!e.ok) return s.fail(t, e.error);
  const open = e.value.open;
  if (open?.kind === 'file' && open.file.fsync) return simple(s, t, open.file.fsync(), { type: 'Rfsync', tag: t });
  return { reply: { type: 'Rfsync', tag: t } };
}
