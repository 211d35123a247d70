import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ctlTree, exportDirectory, routeAnames } from '../src';
import { type OurServer, runTool, startOurServer } from './support/diod';
import { tempDir } from './support/tmp';

// diod's own clients (libnpclient: diodls, diodcat, diodload) against our server on loopback.
describe('diod clients against our server', () => {
  let tmp: ReturnType<typeof tempDir>;
  let exportDir: string;
  let server: OurServer;
  let big: Buffer;

  beforeAll(async () => {
    tmp = tempDir('flow-9p-clients-');
    exportDir = path.join(tmp.dir, 'export');
    fs.mkdirSync(path.join(exportDir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(exportDir, 'hello.txt'), 'hello-9p\n');
    big = crypto.randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(path.join(exportDir, 'big.bin'), big);
    fs.symlinkSync('/etc/hostname', path.join(exportDir, 'escape-link'));
    server = await startOurServer(routeAnames({ ctl: ctlTree('flow-9p-test') }, exportDirectory(exportDir)));
  });

  afterAll(async () => {
    const summaries = (await server?.stop()) ?? [];
    // Every session ended cleanly: the tools closed their connections.
    for (const s of summaries) expect(s.outcome).not.toBe('aborted');
    tmp?.cleanup();
  });

  const addr = (): string => `127.0.0.1:${server.port}`;

  test('diodls -l lists the export with sizes', async () => {
    const r = await runTool('diodls', ['-s', addr(), '-a', exportDir, '-l', '/']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(/ 9 .* hello\.txt\n/);
    expect(out).toMatch(new RegExp(` ${big.length} .* big\\.bin\\n`));
    expect(out).toMatch(/^d.* sub\n/m);
    // The link itself (13 bytes: "/etc/hostname"), not its target; diodls prints links as '-' as with diod.
    expect(out).toMatch(/^-rwxrwxrwx\.\s+1 \S+ \S+\s+13 .* escape-link\n/m);
  });

  test.each([8192, 65536])('diodcat -m %i copies a file byte-exact', async (msize) => {
    const r = await runTool('diodcat', ['-s', addr(), '-a', exportDir, '-m', String(msize), 'big.bin']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(big.length);
    expect(r.stdout.equals(big)).toBe(true);
  });

  test('diodcat attaches with aname "/" and reads a small file', async () => {
    const r = await runTool('diodcat', ['-s', addr(), '-a', '/', 'hello.txt']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('hello-9p\n');
  });

  test('diodcat of a missing file fails', async () => {
    const r = await runTool('diodcat', ['-s', addr(), '-a', exportDir, 'missing.txt']);
    expect(r.code).not.toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  test('diodcat does not escape through .. or a symlink (diod does)', async () => {
    const up = await runTool('diodcat', ['-s', addr(), '-a', exportDir, '../../../../../../etc/hostname']);
    expect(up.stdout.toString()).not.toBe(fs.readFileSync('/etc/hostname', 'utf8'));
    expect(up.code).not.toBe(0);
    const link = await runTool('diodcat', ['-s', addr(), '-a', exportDir, 'escape-link']);
    expect(link.code).not.toBe(0);
    expect(link.stdout.length).toBe(0);
  });

  test('diodcat reads the synthetic ctl version', async () => {
    const r = await runTool('diodcat', ['-s', addr(), '-a', 'ctl', 'version']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('flow-9p-test\n');
  });

  test('diodload reads ctl:zero into ctl:null', async () => {
    const r = await runTool('diodload', ['-s', addr(), '-n', '2', '-r', '1']);
    expect(r.code).toBe(0);
    // diodload reports on stderr.
    const m = /^diodload: ([\d.]+) ops\/s, ([\d.]+) rMB\/s, ([\d.]+) wMB\/s\n$/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeGreaterThan(0);
  });

  test('diodload -g loops getattr on ctl:null', async () => {
    const r = await runTool('diodload', ['-s', addr(), '-n', '2', '-r', '1', '-g']);
    expect(r.code).toBe(0);
    const m = /^diodload: ([\d.]+) ops\/s/.exec(r.stderr);
    expect(Number(m![1])).toBeGreaterThan(0);
  });
});
