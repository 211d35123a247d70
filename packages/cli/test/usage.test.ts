import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runFlow } from './support/flow-process';

describe('bad URIs and options exit 2 with a message that names the wrong part and an example', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown scheme', ['connect', 'tcpp://127.0.0.1:80'], /unknown scheme 'tcpp:'/],
    ['no scheme', ['connect', '127.0.0.1:80'], /'127\.0\.0\.1:80' has no scheme/],
    ['host:port without scheme', ['connect', 'localhost:80'], /did you mean tcp:\/\/localhost:80/],
    ['missing port', ['connect', 'tcp://127.0.0.1'], /missing ":port"/],
    ['port out of range', ['proxy', 'tcp://127.0.0.1:99999', 'tcp://127.0.0.1:80'], /<listen-uri> .*port 99999 is out of range/],
    ['bad IPv6 address', ['connect', 'tcp://[::zz]:80'], /"::zz" is not an IPv6 address/],
    ['relative unix path', ['connect', 'unix://tmp/s.sock'], /three slashes/],
    ['unknown option', ['proxy', '--frobnicate', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1'], /Unknown option '--frobnicate'/],
    ['non-numeric option', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--idle-timeout', 'soon'], /--idle-timeout must be a whole number .* got 'soon'/],
    ['option without value', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--grace'], /--grace/],
    ['missing argument', ['proxy', 'tcp://127.0.0.1:0'], /missing <target-uri>/],
    ['extra argument', ['connect', 'tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'], /unexpected argument 'tcp:\/\/127\.0\.0\.1:2'/],
    ['unknown command', ['frob'], /unknown command 'frob'/],
    ['9p without a subcommand', ['9p'], /'9p' needs a subcommand; commands are 9p serve, 9p ls/],
    ['unknown 9p subcommand', ['9p', 'frob', 'tcp://127.0.0.1:5640'], /'frob' is not one/],
    ['9p client without a path', ['9p', 'cat', 'tcp://127.0.0.1:5640'], /missing <path>/],
    ['9p msize too small', ['9p', 'serve', '.', '--msize', '12'], /--msize must be a whole number from 4096 to 16777216, got '12'/],
    ['9p serve on a bad listen URI', ['9p', 'serve', '.', '--listen', 'tcp://127.0.0.1:port'], /--listen 'tcp:\/\/127\.0\.0\.1:port': port "port" is not a number/],
    ['9p get of a directory without a local name', ['9p', 'get', 'tcp://127.0.0.1:5640', '/'], /has no file name to save under/],
    ['connect to port 0', ['connect', 'tcp://127.0.0.1:0'], /port 0 only works for listening/],
    ['stats with stdio', ['proxy', 'stdio:', 'tcp://127.0.0.1:1', '--stats'], /--stats prints on stdout/],
    ['a timeout no timer can wait', ['connect', 'tcp://127.0.0.1:1', '--timeout', '2147483648'], /--timeout must be a whole number from 1 to 2147483647 \(milliseconds; the longest wait a timer can do\), got '2147483648'/],
    ['an idle timeout no timer can wait', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--idle-timeout', '4294967296'], /--idle-timeout must be a whole number from 1 to 2147483647/],
    ['a connect timeout no timer can wait', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--connect-timeout', '2147483648'], /--connect-timeout must be a whole number from 1 to 2147483647/],
    ['a grace no timer can wait', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--grace', '9999999999'], /--grace must be a whole number from 0 to 2147483647/],
    ['a negative number', ['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1', '--max-connections', '-5'], /--max-connections must be a whole number of at least 1, got '-5'/],
    ['a unix path longer than sun_path', ['proxy', `unix:///tmp/${'x'.repeat(120)}.sock`, 'tcp://127.0.0.1:1'], /is 130 bytes long; a Unix-domain socket path can have at most 107 \(sun_path\)/],
  ];
  test.each(cases)('%s', async (_name, args, message) => {
    const r = await runFlow(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/\nExample: \S/);
    // A usage error is a message, never a stack trace.
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

test('flow --help lists every command and endpoint scheme', async () => {
  const r = await runFlow(['--help']);
  expect(r.code).toBe(0);
  const text = r.stdout.toString();
  for (const word of ['proxy', 'connect', 'listen', '9p serve', '9p ls', '9p stat', '9p cat', '9p get', '9p put', '9p mkdir', '9p rm', 'tcp://', 'unix://', 'stdio:', 'pty:', 'serial:']) {
    expect(text).toContain(word);
  }
});

const everyCommand = ['proxy', 'connect', 'listen', '9p serve', '9p ls', '9p stat', '9p cat', '9p get', '9p put', '9p mkdir', '9p rm'];
test.each(everyCommand.map((c) => [c]))('flow %s --help shows its usage, options and examples', async (command) => {
  const r = await runFlow([...command.split(' '), '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toMatch(new RegExp(`^Usage: flow ${command} `));
  expect(r.stdout.toString()).toContain('Examples:');
});

test('flow --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const r = await runFlow(['--version']);
  expect([r.code, r.stdout.toString()]).toEqual([0, `flow ${version}\n`]);
});

test('flow with no command prints the help on stderr and exits 2', async () => {
  const r = await runFlow([]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^Usage: flow <command>/);
});
