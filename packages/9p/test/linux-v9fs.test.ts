// Linux's own v9fs client against our server: a user-mode Linux 6.1 kernel (Debian's
// user-mode-linux, a CI peer) boots with the host's root on hostfs, loads 9pnet, 9pnet_fd
// and 9p, and mounts our server once per dialect (9P2000.L, 9P2000.u and 9P2000) with
// trans=fd over a serial line whose host end is bridged to our server on loopback TCP.
// No guest networking is configured.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportDirectory } from '../src';
import { startOurServer, type OurServer } from './support/diod';
import { tempDir } from './support/tmp';
import { bootUml, bridgeLine, guestLines, type Uml, UML_FIXTURES, umlMissing } from './support/uml';

const BOOT_TIMEOUT_MS = 240_000; // three mounts and their checks, on a loaded 2-CPU CI machine
const BIG = 1500;
const DIALECTS = [
  { tag: 'L', version: '9P2000.L' },
  { tag: 'u', version: '9P2000.u' },
  { tag: '9', version: '9P2000' },
] as const;

let work: string;
let server: OurServer | undefined;
let uml: Uml | undefined;
let results = new Map<string, string[]>();
let console_ = '';
let exitCode: number | null = null;
const dataHash: Record<string, string> = {};
const LONG = 'n'.repeat(229);
const longHash = createHash('sha256')
  .update(Array.from({ length: 400 }, (_, i) => `${String(i).padStart(5, '0')}${LONG}\n`).join(''))
  .digest('hex');
const bigHash = createHash('sha256')
  .update(
    Array.from({ length: BIG }, (_, i) => `entry-${String(i).padStart(5, '0')}`)
      .sort()
      .map((n) => `${n}\n`)
      .join(''),
  )
  .digest('hex');

function populate(dir: string): void {
  fs.mkdirSync(path.join(dir, 'big'), { recursive: true });
  for (let i = 0; i < BIG; i++) fs.writeFileSync(path.join(dir, 'big', `entry-${String(i).padStart(5, '0')}`), 'x');
  const data = randomBytes(300 * 1024 + 17);
  fs.writeFileSync(path.join(dir, 'data.bin'), data);
  dataHash[path.basename(dir)] = createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(dir, 'trunc.txt'), '0123456789');
  fs.writeFileSync(path.join(dir, 'mode.txt'), 'm', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'mode.txt'), 0o644);
  fs.writeFileSync(path.join(dir, 'time.txt'), 't');
  fs.writeFileSync(path.join(dir, 'moveme.txt'), 'moved\n');
  fs.writeFileSync(path.join(dir, 'linksrc.txt'), 'link');
  fs.writeFileSync(path.join(dir, 'target.txt'), 'target');
  fs.writeFileSync(path.join(dir, 'unlinkme.txt'), 'gone');
  fs.mkdirSync(path.join(dir, 'rmme'));
}

beforeAll(async () => {
  const missing = umlMissing();
  if (missing !== undefined) throw new Error(`user-mode Linux is needed for this test (a CI peer): ${missing}`);
  work = tempDir('flow-9p-uml-').dir;
  const exported = path.join(work, 'export');
  for (const d of DIALECTS) {
    populate(path.join(exported, d.tag));
    fs.mkdirSync(path.join(work, `mnt-${d.tag}`));
  }
  fs.mkdirSync(path.join(work, 'uml'));
  server = await startOurServer(exportDirectory(exported));
  uml = bootUml({
    init: path.join(UML_FIXTURES, 'guest.sh'),
    stateDir: path.join(work, 'uml'),
    env: { FLOW_DIR: work },
    lines: DIALECTS.length,
  });
  for (const line of uml.lines) void bridgeLine(line, server.port);
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), BOOT_TIMEOUT_MS).unref());
  const outcome = await Promise.race([uml.exited, timer]);
  console_ = uml.output();
  if (outcome !== 'timeout') exitCode = outcome.code;
  if (outcome === 'timeout') {
    await uml.kill();
    throw new Error(`user-mode Linux did not power off within ${BOOT_TIMEOUT_MS} ms; console:\n${console_.slice(-4000)}`);
  }
  results = new Map();
  for (const words of guestLines(console_)) {
    if (words.length === 1) results.set(words[0]!, []);
    else results.set(`${words[0]} ${words[1]}`, words.slice(2));
  }
}, BOOT_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await uml?.kill();
  await server?.stop();
}, 30_000);

function guest(tag: string, key: string): string[] {
  const v = results.get(`${tag} ${key}`);
  if (v === undefined) throw new Error(`the guest printed no "@@ ${tag} ${key}" line; console:\n${console_.slice(-4000)}`);
  return v;
}

test('the guest kernel loads v9fs and powers off cleanly', () => {
  expect(results.get('done')).toEqual([]);
  expect(exitCode).toBe(0);
  for (const m of ['net/9p/9pnet.ko', 'net/9p/9pnet_fd.ko', 'fs/9p/9p.ko']) expect(results.get(`module ${m}`)).toEqual([]);
  const mounts = guestLines(console_).filter((w) => w[0] === 'mounts');
  expect(mounts.length).toBe(3);
  // /proc/mounts: "none <dir> 9p <options> 0 0"; Linux leaves out version= for its default, 9p2000.L.
  const opts = (tag: string): string => mounts.find((w) => w[2] === path.join(work, `mnt-${tag}`))?.[4] ?? '';
  expect(opts('L')).toMatch(/(^|,)trans=fd(,|$)/);
  expect(opts('L')).not.toMatch(/version=/);
  expect(opts('u')).toMatch(/(^|,)trans=fd(,|$)/);
  expect(opts('u')).toMatch(/(^|,)version=9p2000\.u(,|$)/);
  expect(opts('9')).toMatch(/(^|,)noextend(,|$)/); // how /proc/mounts names version=9p2000
});

describe.each(DIALECTS)('Linux v9fs, mount -t 9p -o version=$version', ({ tag }) => {
  const dir = (): string => path.join(work, 'export', tag);

  test('mounts, lists a large directory and reads a file byte-exact', () => {
    expect(guest(tag, 'mount')).toEqual(['0']);
    expect(guest(tag, 'ls')).toEqual([String(BIG), bigHash]);
    expect(guest(tag, 'stat-all')).toEqual([String(BIG)]); // a walk and a getattr per entry
    expect(guest(tag, 'cat')).toEqual([dataHash[tag]]);
  });

  test('write, append and truncate reach the host directory', () => {
    expect(guest(tag, 'write')).toEqual(['0']);
    expect(guest(tag, 'append')).toEqual(['0', '12']);
    expect(fs.readFileSync(path.join(dir(), 'new.txt'), 'utf8')).toBe('hello\nworld\n');
    expect(guest(tag, 'truncate')).toEqual(['0', '3']);
    expect(fs.readFileSync(path.join(dir(), 'trunc.txt'), 'utf8')).toBe('012');
  });

  test('chmod and utimes reach the host directory', () => {
    expect(guest(tag, 'chmod')).toEqual(['0', '640']);
    expect(fs.statSync(path.join(dir(), 'mode.txt')).mode & 0o7777).toBe(0o640);
    const when = Date.UTC(2001, 1, 3, 4, 5, 6) / 1000;
    expect(guest(tag, 'utimes')).toEqual(['0', String(when)]);
    expect(Math.floor(fs.statSync(path.join(dir(), 'time.txt')).mtimeMs / 1000)).toBe(when);
  });

  test('mkdir, rename, hard link and symlink reach the host directory', () => {
    expect(guest(tag, 'mkdir')).toEqual(['0', 'directory']);
    expect(fs.statSync(path.join(dir(), 'newdir')).isDirectory()).toBe(true);
    expect(guest(tag, 'rename')).toEqual(['0', 'moved']);
    expect(fs.existsSync(path.join(dir(), 'moveme.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(dir(), 'moved.txt'), 'utf8')).toBe('moved\n');
    if (tag === '9') {
      // Plain 9P2000 has neither hard links nor symlinks: Linux refuses both itself (EPERM).
      expect(guest(tag, 'link')).toEqual(['1', '1']);
      expect(guest(tag, 'symlink')).toEqual(['1']);
      return;
    }
    const a = fs.statSync(path.join(dir(), 'linksrc.txt'));
    const b = fs.statSync(path.join(dir(), 'hardlink.txt'));
    expect([b.ino, b.nlink]).toEqual([a.ino, 2]);
    expect(guest(tag, 'link')).toEqual(['0', '2']);
    expect(guest(tag, 'symlink')).toEqual(['0', 'target.txt']);
    expect(fs.readlinkSync(path.join(dir(), 'sym.txt'))).toBe('target.txt');
  });

  test('a directory of 400 files with 234-byte names, made through the mount, lists whole and is removed', () => {
    // Each listing takes several reads whose counts end inside an entry.
    expect(guest(tag, 'long-create')).toEqual(['400']);
    // .L and .u list '.' and '..' as a Unix directory does; 9P2000 keeps Plan 9's rule (none).
    expect(guest(tag, 'long-ls')).toEqual([tag === '9' ? '400' : '402', longHash]);
    expect(guest(tag, 'long-rm')).toEqual(['0', 'gone']);
    expect(fs.existsSync(path.join(dir(), 'long'))).toBe(false);
  });

  test('link counts of files and directories', () => {
    // 9P2000.u carries them in the stat's extension ("HARDLINKCOUNT <n>"); 9P2000 cannot, Linux shows 1.
    if (tag === '9') {
      expect(guest(tag, 'nlink-file')).toEqual(['1']); // ln failed, so nlink-b does not exist
      expect(guest(tag, 'nlink-dir')).toEqual(['1']);
      return;
    }
    expect(guest(tag, 'nlink-file')).toEqual(['2', '2']);
    expect(guest(tag, 'nlink-dir')).toEqual([String(fs.statSync(path.join(dir(), 'nlink-d')).nlink)]);
    expect(fs.statSync(path.join(dir(), 'nlink-d')).nlink).toBe(4);
  });

  test('a directory emptied through the mount is removed by rmdir', () => {
    expect(guest(tag, 'empty-ls')).toEqual([tag === '9' ? '0' : '2']);
    expect(guest(tag, 'empty-rmdir')).toEqual(['0', 'gone']);
    expect(fs.existsSync(path.join(dir(), 'empty'))).toBe(false);
  });

  test('unlink and rmdir reach the host directory; statfs answers', () => {
    expect(guest(tag, 'unlink')).toEqual(['0']);
    expect(fs.existsSync(path.join(dir(), 'unlinkme.txt'))).toBe(false);
    expect(guest(tag, 'rmdir')).toEqual(['0']);
    expect(fs.existsSync(path.join(dir(), 'rmme'))).toBe(false);
    const [type, bsize, blocks] = guest(tag, 'statfs');
    if (tag === 'L') {
      // Tstatfs: the exported filesystem's own figures.
      const host = fs.statfsSync(dir());
      expect(type).toBe(host.type.toString(16));
      expect(Number(bsize)).toBe(host.bsize);
      expect(Number(blocks)).toBe(host.blocks);
    } else {
      // 9P2000.u has no Tstatfs: Linux answers for itself, with V9FS_MAGIC.
      expect(type).toBe('1021997');
      expect(Number(bsize)).toBeGreaterThan(0);
    }
    expect(guest(tag, 'umount')).toEqual(['0']);
  });
});
