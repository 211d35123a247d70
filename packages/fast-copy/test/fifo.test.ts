// Descriptors that are not sockets: a FIFO between two copies, so that the engine's write(2)
// path (no MSG_NOSIGNAL send) and its reads from a non-socket (no SO_ERROR) run too.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connection, destroyAll, digestUntilEnd, sendRandom } from './support/sockets';
import { lend, start } from './support/copy';
import type { CopyMode } from '../src/start-copy';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fast-copy-fifo-'))));
afterEach(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

test.each<CopyMode>(['readwrite', 'splice'])('socket -> FIFO -> socket in %s mode: every byte arrives, EOF when the writer closes', async (mode) => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // The reader first (a non-blocking open for reading never waits), then the writer.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const a = await connection('unix');
  const b = await connection('tcp');
  const atB = digestUntilEnd(b.far);
  const into = start(lend(a.near), writer, { mode });
  const outOf = start(reader, lend(b.near), { mode });
  const size = 8 * 1024 * 1024;
  const sent = await sendRandom(a.far, size);
  expect(await into.done).toMatchObject({ outcome: 'eof', bytes: size });
  // The engine's duplicate of the writer closed as the copy ended: ours is the last one.
  closeSync(writer);
  expect(await outOf.done).toMatchObject({ outcome: 'eof', bytes: size });
  b.near.end();
  expect(await atB).toEqual({ sha256: sent, bytes: size });
  closeSync(reader);
});

test('a FIFO with no reader left: the write fails with EPIPE (a reset) and the bytes come back', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(reader);
  const a = await connection('unix');
  const copy = start(lend(a.near), writer);
  a.far.write('nobody reads this');
  const result = await copy.done;
  closeSync(writer);
  expect(result).toMatchObject({ outcome: 'error', failedSide: 'write', bytes: 0 });
  expect(result.error).toMatchObject({ kind: 'reset', code: 'EPIPE' });
  expect(Buffer.from(result.unwritten).toString()).toBe('nobody reads this');
});
