// The entry point of the 9P server: checks the options and runs one Session on the flow.
// How the server is laid out, for a first read:
//   options.ts        what a caller chooses and gets back (Serve9pOptions, SessionSummary)
//   session.ts        one connection: the read loop, limits, timeouts, Tversion, Tflush, dispatch
//   reply-writer.ts   replies onto the flow: encoding, pooled Rread buffers, write accounting
//   request.ts        what a handler gets (RequestContext) and gives back (Outcome)
//   dispatch.ts       which handler answers which request type
//   requests/*.ts     the handlers, grouped by what they touch (attach, walk/open/create,
//                     read/write, directory reads, attributes, links and renames)
//   fid-table.ts, modes.ts, memory-budget.ts, connection-pool.ts  the state and rules they share
import type { Flow } from '@flow/core';
import type { Filesystem } from '../fs/filesystem';
import { MAX_MSIZE, MIN_MSIZE, type Serve9pOptions, type SessionSummary } from './options';
import { Session } from './session';

export { MIN_MSIZE } from './options';
export type { AuthHook, Serve9pOptions, SessionSummary } from './options';

/**
 * Serves 9P on one flow until it ends. Never rejects: the outcome is in the summary.
 */
export async function serve9p(flow: Flow, fs: Filesystem, options: Serve9pOptions = {}): Promise<SessionSummary> {
  const maxMsize = options.msize ?? 65536;
  if (!Number.isInteger(maxMsize) || maxMsize < MIN_MSIZE || maxMsize > MAX_MSIZE) {
    throw new RangeError(`msize must be an integer in ${MIN_MSIZE}..${MAX_MSIZE}`);
  }
  for (const k of ['handshakeTimeoutMs', 'idleTimeoutMs'] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k} must be a number of milliseconds, 0 or more`);
  }
  const session = new Session(flow, fs, options, maxMsize);
  return session.run();
}
