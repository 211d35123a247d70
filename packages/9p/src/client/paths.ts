// What the path API shares: turning a path into walk names, holding a fid for the length of one
// operation, opening a fid in the dialect's way, and the size of one read or write.
import { type FlowError, ok, type Result } from '@flow/core';
import { IOHDRSZ, LFLAGS, OMODE, QT } from '../wire/constants';
import type { Qid } from '../wire/types';
import type { FileStat } from './options';
import type { RpcSession } from './rpc-session';

/** The walk names of a slash-separated path ('' and '.' steps dropped). */
export function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/** The file type a qid's type bits say. */
export function typeOfQid(qid: Qid): FileStat['type'] {
  if (qid.type & QT.DIR) return 'directory';
  if (qid.type & QT.SYMLINK) return 'symlink';
  return 'file';
}

/** Walks to `path`, runs `fn` with the fid, and clunks it whatever `fn` answered. */
export async function withFid<T>(
  session: RpcSession,
  path: string,
  fn: (fid: number) => Promise<Result<T, FlowError>>,
  signal?: AbortSignal,
): Promise<Result<T, FlowError>> {
  const w = await session.walk(splitPath(path), signal);
  if (!w.ok) return w;
  const r = await fn(w.value);
  await session.clunk(w.value);
  return r;
}

/** Opens `fid` (Tlopen in .L, Topen otherwise) and resolves with the server's iounit. */
export async function openFid(session: RpcSession, fid: number, how: 'read' | 'write' | 'write-trunc'): Promise<Result<number, FlowError>> {
  if (session.dialect === '9P2000.L') {
    const flags = how === 'read' ? LFLAGS.RDONLY : how === 'write' ? LFLAGS.WRONLY : LFLAGS.WRONLY | LFLAGS.TRUNC;
    const r = await session.call({ type: 'Tlopen', fid, flags }, 'Rlopen');
    return r.ok ? ok(r.value.iounit) : r;
  }
  const mode = how === 'read' ? OMODE.READ : how === 'write' ? OMODE.WRITE : OMODE.WRITE | OMODE.TRUNC;
  const r = await session.call({ type: 'Topen', fid, mode }, 'Ropen');
  return r.ok ? ok(r.value.iounit) : r;
}

/** The payload of one Tread/Twrite: the server's iounit when it gave one that fits, else msize's. */
export function chunkSize(session: RpcSession, iounit: number): number {
  const max = session.msize - IOHDRSZ;
  return iounit > 0 && iounit < max ? iounit : max;
}
