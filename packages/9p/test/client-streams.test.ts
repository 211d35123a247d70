import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlowError } from '@flow/core';
import { type Dialect, exportDirectory, staticDir, Vfs, zeroFile } from '../src';
import { memorySession } from './support/session';
import { tempDir } from './support/tmp';

const MSIZE = 8192;
const WINDOW = 4;

function sha(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

describe.each<Dialect>(['9P2000', '9P2000.u', '9P2000.L'])('streaming reads and writes in %s', (version) => {
  test('readStream hands every piece in order, one at a time, each at most one iounit', async () => {
    const tmp = tempDir();
    const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(path.join(tmp.dir, 'big.bin'), data);
    const s = await memorySession(exportDirectory(tmp.dir), { version, msize: MSIZE, window: WINDOW });
    const hash = crypto.createHash('sha256');
    let busy = false;
    let overlapped = false;
    let largest = 0;
    const r = await s.client.readStream('big.bin', async (piece) => {
      if (busy) overlapped = true;
      busy = true;
      largest = Math.max(largest, piece.length);
      hash.update(piece);
      await new Promise((resolve) => setImmediate(resolve));
      busy = false;
    });
    expect(r).toEqual({ ok: true, value: data.length });
    expect(hash.digest('hex')).toBe(sha(data));
    expect(overlapped).toBe(false);
    expect(largest).toBeLessThanOrEqual(s.client.iounit);
    await s.close();
    tmp.cleanup();
  });

  test('writeStream writes an async source of odd-sized pieces byte-exact and says how many bytes', async () => {
    const tmp = tempDir();
    const s = await memorySession(exportDirectory(tmp.dir), { version, msize: MSIZE, window: WINDOW });
    const sizes = [1, 100_000, 7, 8192, 8191, 300_000, 0, 65_536, 3];
    const pieces = sizes.map((n) => crypto.randomBytes(n));
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const p of pieces) {
        await new Promise((resolve) => setImmediate(resolve));
        yield p;
      }
    }
    const whole = Buffer.concat(pieces);
    const r = await s.client.writeStream('out.bin', source());
    expect(r).toEqual({ ok: true, value: whole.length });
    expect(sha(fs.readFileSync(path.join(tmp.dir, 'out.bin')))).toBe(sha(whole));
    await s.close();
    tmp.cleanup();
  });
});

test('writeStream takes from its source only about a window ahead of what the server has written', async () => {
  const tmp = tempDir();
  const s = await memorySession(exportDirectory(tmp.dir), { msize: MSIZE, window: WINDOW });
  const target = path.join(tmp.dir, 'bounded.bin');
  const piece = 10_000;
  let pulled = 0;
  let worstAhead = 0;
  function* source(): Generator<Uint8Array> {
    for (let i = 0; i < 400; i++) {
      const onDisk = fs.existsSync(target) ? fs.statSync(target).size : 0;
      worstAhead = Math.max(worstAhead, pulled - onDisk);
      pulled += piece;
      yield Buffer.alloc(piece, i & 0xff);
    }
  }
  const r = await s.client.writeStream('bounded.bin', source());
  expect(r).toEqual({ ok: true, value: 400 * piece });
  expect(fs.statSync(target).size).toBe(400 * piece);
  // One window of Twrites in flight, plus the piece that overran it.
  expect(worstAhead).toBeLessThanOrEqual(WINDOW * s.client.iounit + piece);
  await s.close();
  tmp.cleanup();
});

test('a consumer that returns an error stops readStream with that error, and the fid is released', async () => {
  const s = await memorySession(new Vfs(staticDir({ zero: zeroFile() })), { msize: MSIZE, maxFids: 2 });
  for (let i = 0; i < 5; i++) {
    let calls = 0;
    const r = await s.client.readStream('zero', () => {
      calls += 1;
      return calls === 3 ? { ok: false, error: new FlowError('io', 'disk full') } : undefined;
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toBe('disk full');
    expect(calls).toBe(3);
  }
  await s.close();
});

test('a consumer that throws stops readStream with an error value instead of a rejection', async () => {
  const s = await memorySession(new Vfs(staticDir({ zero: zeroFile() })), { msize: MSIZE });
  const r = await s.client.readStream('zero', () => {
    throw new Error('consumer broke');
  });
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error.message).toContain('consumer');
  await s.close();
});

test('a source that fails stops writeStream with an error; what was written before stays; the fid is released', async () => {
  const tmp = tempDir();
  const s = await memorySession(exportDirectory(tmp.dir), { msize: MSIZE, maxFids: 2 });
  for (let i = 0; i < 3; i++) {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('kept ');
      throw Object.assign(new Error('EIO: read failed'), { code: 'EIO' });
    }
    const r = await s.client.writeStream(`partial${i}.txt`, failing());
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.kind).toBe('io');
    expect(fs.readFileSync(path.join(tmp.dir, `partial${i}.txt`), 'utf8')).toBe('kept ');
  }
  const bad = await s.client.writeStream('typed.txt', ['not bytes' as unknown as Uint8Array]);
  expect(!bad.ok && bad.error.message).toContain('Uint8Array');
  await s.close();
  tmp.cleanup();
});

test('writeStream of an empty source creates an empty file, and truncates an existing one', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'old.txt'), 'old contents');
  const s = await memorySession(exportDirectory(tmp.dir), { msize: MSIZE });
  expect(await s.client.writeStream('new.txt', [])).toEqual({ ok: true, value: 0 });
  expect(await s.client.writeStream('old.txt', [])).toEqual({ ok: true, value: 0 });
  expect(fs.readFileSync(path.join(tmp.dir, 'new.txt'), 'utf8')).toBe('');
  expect(fs.readFileSync(path.join(tmp.dir, 'old.txt'), 'utf8')).toBe('');
  await s.close();
  tmp.cleanup();
});
