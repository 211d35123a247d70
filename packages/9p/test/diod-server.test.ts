import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect9p, type Client9p } from '../src';
import { dial, type DiodServer, startDiod } from './support/diod';
import { tempDir } from './support/tmp';

// Our client against a real diod 1.0.24 server (9P2000.L) on loopback.
describe('our client against diod', () => {
  let tmp: ReturnType<typeof tempDir>;
  let exportDir: string;
  let diod: DiodServer;
  let client: Client9p;

  beforeAll(async () => {
    tmp = tempDir('flow-9p-diod-');
    exportDir = path.join(tmp.dir, 'export');
    fs.mkdirSync(path.join(exportDir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(exportDir, 'hello.txt'), 'hello-9p\n');
    diod = await startDiod(exportDir, path.join(tmp.dir, 'diod.log'));
    const c = await connect9p(await dial(diod.port), { aname: exportDir, uname: 'root', nUname: 0 });
    if (!c.ok) throw c.error;
    client = c.value;
  });

  afterAll(async () => {
    await client?.close();
    await diod?.stop();
    tmp?.cleanup();
  });

  test('negotiates 9P2000.L at diod msize cap', () => {
    expect(client.dialect).toBe('9P2000.L');
    expect(client.msize).toBeLessThanOrEqual(65536);
  });

  test('lists the export', async () => {
    const r = await client.readdir('/');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.map((e) => e.name).sort()).toEqual(['hello.txt', 'sub']);
    expect(r.value.find((e) => e.name === 'sub')?.type).toBe('directory');
  });

  test('reads a file', async () => {
    const r = await client.readFile('hello.txt');
    expect(r.ok && Buffer.from(r.value).toString()).toBe('hello-9p\n');
  });

  test('writes a multi-chunk file byte-exact', async () => {
    const data = Buffer.alloc(1_000_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    expect((await client.writeFile('sub/data.bin', data)).ok).toBe(true);
    expect(fs.readFileSync(path.join(exportDir, 'sub/data.bin')).equals(data)).toBe(true);
    const back = await client.readFile('sub/data.bin');
    expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
  });

  test('streams a file up and back down byte-exact', async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(50_000 + i, (i * 7) & 0xff));
    const whole = Buffer.concat(pieces);
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const p of pieces) yield p;
    }
    expect(await client.writeStream('sub/streamed.bin', source())).toEqual({ ok: true, value: whole.length });
    expect(fs.readFileSync(path.join(exportDir, 'sub/streamed.bin')).equals(whole)).toBe(true);
    const back: Uint8Array[] = [];
    expect(await client.readStream('sub/streamed.bin', (d) => void back.push(d))).toEqual({ ok: true, value: whole.length });
    expect(Buffer.concat(back).equals(whole)).toBe(true);
  });

  test('stats a file and a directory', async () => {
    const f = await client.stat('hello.txt');
    expect(f.ok && f.value).toMatchObject({ type: 'file', size: 9 });
    const d = await client.stat('sub');
    expect(d.ok && d.value.type).toBe('directory');
  });

  test('makes, renames, links and removes', async () => {
    expect((await client.mkdir('made', 0o750)).ok).toBe(true);
    expect(fs.statSync(path.join(exportDir, 'made')).isDirectory()).toBe(true);
    expect((await client.writeFile('made/a.txt', Buffer.from('a'))).ok).toBe(true);
    expect((await client.rename('made/a.txt', 'sub/b.txt')).ok).toBe(true);
    expect(fs.readFileSync(path.join(exportDir, 'sub/b.txt'), 'utf8')).toBe('a');
    expect((await client.remove('sub/b.txt')).ok).toBe(true);
    expect((await client.symlink('made/link', '../hello.txt')).ok).toBe(true);
    expect(fs.readlinkSync(path.join(exportDir, 'made/link'))).toBe('../hello.txt');
    expect(await client.readlink('made/link')).toEqual({ ok: true, value: '../hello.txt' });
    expect((await client.remove('made/link')).ok).toBe(true);
    expect((await client.remove('made')).ok).toBe(true);
    expect(fs.existsSync(path.join(exportDir, 'made'))).toBe(false);
  });

  test('reports a missing file as not-found with ENOENT', async () => {
    const r = await client.readFile('no/such/file');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.kind).toBe('not-found');
  });

  test('reads diod ctl:version on a second connection', async () => {
    const c = await connect9p(await dial(diod.port), { aname: 'ctl', uname: 'root', nUname: 0 });
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const r = await c.value.readFile('version');
    expect(r.ok && Buffer.from(r.value).toString()).toMatch(/^diod-1\.0\./);
    await c.value.close();
  });

  test('64 requests in flight at once are all answered', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => client.stat(i % 2 ? 'hello.txt' : 'sub')));
    results.forEach((r, i) => expect(r.ok && r.value.type).toBe(i % 2 ? 'file' : 'directory'));
  });

  test('aborting a long read sends Tflush; diod answers and the connection stays usable', async () => {
    fs.writeFileSync(path.join(exportDir, 'long.bin'), Buffer.alloc(64 * 1024 * 1024, 7));
    const ac = new AbortController();
    const reading = client.readFile('long.bin', { signal: ac.signal });
    setImmediate(() => ac.abort());
    const r = await reading;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.kind).toBe('aborted');
    const again = await client.readFile('hello.txt');
    expect(again.ok && Buffer.from(again.value).toString()).toBe('hello-9p\n');
    fs.unlinkSync(path.join(exportDir, 'long.bin'));
  });

  test('walks deeper than 16 names by splitting the walk', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `d${i}`);
    fs.mkdirSync(path.join(exportDir, ...names), { recursive: true });
    fs.writeFileSync(path.join(exportDir, ...names, 'leaf'), 'deep');
    const r = await client.readFile([...names, 'leaf'].join('/'));
    expect(r.ok && Buffer.from(r.value).toString()).toBe('deep');
  });
});

// Documentation of the hole our export closes (see the confinement tests): diod 1.0.24 lets
// `..` walk above its export, so this read of a file outside the export succeeds against diod.
describe('diod 1.0.24 is not confined', () => {
  test('".." chains walk out of a diod export', async () => {
    const tmp = tempDir('flow-9p-diod-esc-');
    const exportDir = path.join(tmp.dir, 'export');
    fs.mkdirSync(exportDir);
    const diod = await startDiod(exportDir, path.join(tmp.dir, 'diod.log'));
    const c = await connect9p(await dial(diod.port), { aname: exportDir, uname: 'root', nUname: 0 });
    expect(c.ok).toBe(true);
    if (c.ok) {
      const r = await c.value.readFile([...Array(12).fill('..'), 'etc', 'hostname'].join('/'));
      expect(r.ok && Buffer.from(r.value).toString()).toBe(fs.readFileSync('/etc/hostname', 'utf8'));
      await c.value.close();
    }
    await diod.stop();
    tmp.cleanup();
  });
});
