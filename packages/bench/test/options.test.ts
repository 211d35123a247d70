import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chosenSections, parseSize, positionals, Settings, wantsHelp } from '../src/options';

describe('settings', () => {
  test('sizes take binary and decimal units', () => {
    expect(parseSize('64KiB')).toBe(65536);
    expect(parseSize('512MiB')).toBe(512 * 1024 * 1024);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1e6')).toBe(1_000_000);
    expect(() => parseSize('lots')).toThrow(RangeError);
  });

  test('arguments win over environment variables, which win over defaults', () => {
    const s = new Settings(['--runs=5', 'core'], { BENCH_RUNS: '2', BENCH_CORE_BYTES: '1MiB' });
    expect(s.count('runs', 3)).toBe(5);
    expect(s.size('core-bytes', 7)).toBe(1024 * 1024);
    expect(s.size('tcp-bytes', 7)).toBe(7);
    expect(positionals(['--runs=5', 'core'])).toEqual(['core']);
  });

  test('a bare --name turns a flag on, as --name=1 does; --name=0 and --name=false turn it off', () => {
    const s = new Settings(['--ninep-no-pinned', '--verify=1', '--no-socat=0', '--no-haproxy=false'], {});
    expect(s.flag('ninep-no-pinned')).toBe(true);
    expect(s.flag('verify')).toBe(true);
    expect(s.flag('no-socat')).toBe(false);
    expect(s.flag('no-haproxy')).toBe(false);
    expect(s.flag('ninep-no-load')).toBe(false);
    // A bare name where a value is needed is refused, not read as a default.
    expect(() => new Settings(['--runs'], {}).count('runs', 3)).toThrow(RangeError);
  });
});

describe('choosing sections', () => {
  test('known sections pass, in any case', () => {
    expect(chosenSections(['TCP', '9p', '--runs=1'])).toEqual(['tcp', '9p']);
    expect(chosenSections(['9p-campaign'])).toEqual(['9p-campaign']);
    expect(chosenSections(['proxy-campaign'])).toEqual(['proxy-campaign']);
    expect(chosenSections([])).toEqual([]);
  });

  test('an unknown section is refused with the list of known ones', () => {
    expect(() => chosenSections(['tcp', 'udp'])).toThrow(/unknown section udp \(sections: core, tcp, unix, hybrid, vsock, 9p, xen, 9p-campaign, proxy-campaign\)/);
  });

  test('--help, -h and help ask for the usage', () => {
    expect(wantsHelp(['--help'])).toBe(true);
    expect(wantsHelp(['-h'])).toBe(true);
    expect(wantsHelp(['tcp', '--runs=1'])).toBe(false);
  });

  // The bench is built by `pnpm test` before jest runs (see package.json).
  const main = join(__dirname, '..', 'dist', 'main.js');

  test('the command prints its usage for --help and runs nothing', () => {
    const out = execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8', timeout: 20000 });
    expect(out).toMatch(/^usage: node dist\/main.js \[section \.\.\.\]/);
    expect(out).not.toMatch(/Gbit\/s|MiB\/s/);
  });

  test('the command refuses an unknown section with exit code 2', () => {
    const run = spawnSync(process.execPath, [main, 'nosuch'], { encoding: 'utf8', timeout: 20000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown section nosuch/);
  });
});
