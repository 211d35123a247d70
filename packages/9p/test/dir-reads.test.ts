// Directory reads and stats the way Linux's v9fs does them in 9P2000 and 9P2000.u
// (fs/9p/vfs_dir.c, net/9p/client.c): Tread of a directory at the byte offset of the stats
// consumed so far, with a count of whatever room its msize-sized buffer has left, again and
// again until a read comes back empty.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeStats, exportDirectory, IOHDRSZ, type Message, OMODE, type Stat, type UntaggedRequest } from '../src';
import { rawSession } from './support/raw';
import { memorySession } from './support/session';
import { tempDir } from './support/tmp';

const LONG = 'n'.repeat(229); // with a 5-digit prefix: 234-byte names, as in issue 13

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Lists `wnames` as v9fs_dir_readdir does, and says what each Tread asked and got. */
async function linuxListing(
  dialect: '9P2000' | '9P2000.u',
  wnames: string[],
  msize = 8192,
): Promise<{ stats: Stat[]; errors: Message[]; reads: number }> {
  const s = await rawSession(exportDirectory(tmp.dir), dialect, { clientMsize: msize });
  let tag = 1;
  const rpc = (m: UntaggedRequest): Promise<Message> => s.conn.rpc({ ...m, tag: tag++ } as Message);
  await rpc({ type: 'Twalk', fid: 0, newfid: 1, wnames });
  const opened = await rpc({ type: 'Topen', fid: 1, mode: OMODE.READ });
  if (opened.type !== 'Ropen') throw new Error(JSON.stringify(opened));
  const buflen = msize - IOHDRSZ;
  const stats: Stat[] = [];
  const errors: Message[] = [];
  let pos = 0n;
  let reads = 0;
  for (;;) {
    // One getdents refill: p9_client_read loops over the buffer until a read returns 0.
    const chunks: Uint8Array[] = [];
    let filled = 0;
    while (filled < buflen) {
      const r = await rpc({ type: 'Tread', fid: 1, offset: pos + BigInt(filled), count: Math.min(buflen - filled, opened.iounit || buflen) });
      reads++;
      if (r.type !== 'Rread') {
        errors.push(r);
        break;
      }
      if (r.data.length === 0) break;
      chunks.push(r.data);
      filled += r.data.length;
    }
    if (errors.length > 0 || filled === 0) break;
    const d = decodeStats(Buffer.concat(chunks), dialect);
    if (!d.ok) throw d.error;
    stats.push(...d.value);
    pos += BigInt(filled);
  }
  await s.end();
  return { stats, errors, reads };
}

function makeLongDir(n: number): string[] {
  fs.mkdirSync(path.join(tmp.dir, 'long'));
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${String(i).padStart(5, '0')}${LONG}`;
    fs.writeFileSync(path.join(tmp.dir, 'long', name), '');
    names.push(name);
  }
  return names;
}

describe.each(['9P2000', '9P2000.u'] as const)('%s directory reads', (dialect) => {
  test('a read whose count ends inside a stat stops short, and the listing goes on from there', async () => {
    const names = makeLongDir(400);
    const { stats, errors, reads } = await linuxListing(dialect, ['long']);
    expect(errors).toEqual([]);
    const dots = dialect === '9P2000.u' ? ['.', '..'] : [];
    expect(stats.map((s) => s.name)).toEqual([...dots, ...names]);
    expect(reads).toBeGreaterThan(10); // several buffers, each cut inside a stat
  });

  test('a count too small for the next stat gets an empty read, not an error', async () => {
    makeLongDir(3);
    const s = await rawSession(exportDirectory(tmp.dir), dialect);
    await s.conn.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['long'] });
    await s.conn.rpc({ type: 'Topen', tag: 1, fid: 1, mode: OMODE.READ });
    const tiny = await s.conn.rpc({ type: 'Tread', tag: 1, fid: 1, offset: 0n, count: 40 }); // less than any stat
    expect(tiny.type === 'Rread' && tiny.data.length).toBe(0);
    const whole = await s.conn.rpc({ type: 'Tread', tag: 1, fid: 1, offset: 0n, count: 8000 });
    expect(whole.type === 'Rread' && decodeStats(whole.data, dialect)).toMatchObject({ ok: true, value: { length: dialect === '9P2000.u' ? 5 : 3 } });
    await s.end();
  });
});

describe('9P2000.u stats', () => {
  test('regular files and directories carry "HARDLINKCOUNT <n>" in the extension; symlinks their target', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'a'), 'x');
    fs.linkSync(path.join(tmp.dir, 'a'), path.join(tmp.dir, 'b'));
    fs.mkdirSync(path.join(tmp.dir, 'd'));
    fs.mkdirSync(path.join(tmp.dir, 'd', 's1'));
    fs.mkdirSync(path.join(tmp.dir, 'd', 's2'));
    fs.symlinkSync('a', path.join(tmp.dir, 'l'));
    const s = await rawSession(exportDirectory(tmp.dir), '9P2000.u');
    const statOf = async (name: string): Promise<Message> => {
      await s.conn.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 9, wnames: [name] });
      const r = await s.conn.rpc({ type: 'Tstat', tag: 1, fid: 9 });
      await s.conn.rpc({ type: 'Tclunk', tag: 1, fid: 9 });
      return r;
    };
    expect(await statOf('a')).toMatchObject({ type: 'Rstat', stat: { extension: 'HARDLINKCOUNT 2' } });
    expect(await statOf('d')).toMatchObject({ type: 'Rstat', stat: { extension: `HARDLINKCOUNT ${fs.statSync(path.join(tmp.dir, 'd')).nlink}` } });
    expect(fs.statSync(path.join(tmp.dir, 'd')).nlink).toBe(4);
    expect(await statOf('l')).toMatchObject({ type: 'Rstat', stat: { extension: 'a' } });
    await s.end();
    // The same in a directory listing.
    const { stats } = await linuxListing('9P2000.u', []);
    const ext = Object.fromEntries(stats.map((st) => [st.name, st.extension]));
    expect(ext).toMatchObject({ a: 'HARDLINKCOUNT 2', b: 'HARDLINKCOUNT 2', d: 'HARDLINKCOUNT 4', l: 'a' });
  });

  test('plain 9P2000 stats have no extension', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'a'), 'x');
    const { stats } = await linuxListing('9P2000', []);
    expect(stats.map((st) => [st.name, st.extension])).toEqual([['a', undefined]]);
  });
});

test.each(['9P2000', '9P2000.u', '9P2000.L'] as const)('the client lists a directory without "." and ".." in %s', async (version) => {
  makeLongDir(30);
  const s = await memorySession(exportDirectory(tmp.dir), { version, msize: 4096 });
  const r = await s.client.readdir('/long');
  expect(r.ok && r.value.map((e) => e.name).sort()).toEqual(fs.readdirSync(path.join(tmp.dir, 'long')).sort());
  await s.close();
});
