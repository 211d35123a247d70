import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportDirectory, type Dialect } from '../src';
import { memorySession } from './support/session';
import { tempDir } from './support/tmp';

describe.each<Dialect>(['9P2000', '9P2000.u', '9P2000.L'])('client and server over pair in %s', (version) => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
    fs.writeFileSync(path.join(tmp.dir, 'hello.txt'), 'hello-9p\n');
  });
  afterEach(() => tmp.cleanup());

  test('reads, writes, lists, stats, renames and removes', async () => {
    const s = await memorySession(exportDirectory(tmp.dir), { version });
    const c = s.client;
    expect(c.dialect).toBe(version);
    const r = await c.readFile('hello.txt');
    expect(r.ok && Buffer.from(r.value).toString()).toBe('hello-9p\n');
    expect((await c.mkdir('sub')).ok).toBe(true);
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    expect(await c.writeFile('sub/big.bin', big)).toEqual({ ok: true, value: undefined });
    expect(fs.readFileSync(path.join(tmp.dir, 'sub/big.bin')).equals(big)).toBe(true);
    const back = await c.readFile('sub/big.bin');
    expect(back.ok && Buffer.from(back.value).equals(big)).toBe(true);
    const st = await c.stat('sub/big.bin');
    expect(st.ok && st.value.size).toBe(300_000);
    expect(st.ok && st.value.type).toBe('file');
    const ls = await c.readdir('');
    expect(ls.ok && ls.value.map((e) => e.name).sort()).toEqual(['hello.txt', 'sub']);
    expect((await c.rename('hello.txt', 'renamed.txt')).ok).toBe(true);
    expect(fs.existsSync(path.join(tmp.dir, 'renamed.txt'))).toBe(true);
    expect((await c.remove('renamed.txt')).ok).toBe(true);
    expect(fs.existsSync(path.join(tmp.dir, 'renamed.txt'))).toBe(false);
    if (version === '9P2000') {
      expect(!(await c.symlink('l', 'target')).ok).toBe(true);
    } else {
      expect((await c.symlink('sub/link', '../elsewhere')).ok).toBe(true);
      expect(fs.readlinkSync(path.join(tmp.dir, 'sub/link'))).toBe('../elsewhere');
      expect(await c.readlink('sub/link')).toEqual({ ok: true, value: '../elsewhere' });
      const ls2 = await c.stat('sub/link');
      expect(ls2.ok && ls2.value.type).toBe('symlink');
      expect((await c.remove('sub/link')).ok).toBe(true);
    }
    const missing = await c.readFile('nope');
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error.kind).toBe('not-found');
    const summary = await s.close();
    expect(summary.outcome).toBe('eof');
    expect(summary.dialect).toBe(version);
  });
});
