// Real AF_VSOCK: a user-mode Linux 6.1 kernel (Debian's user-mode-linux, a CI peer) boots with
// the host's root on hostfs, loads vsock and the loopback transport, and runs the jest tests of
// test/uml/ against CID 1 (VMADDR_CID_LOCAL), which never leaves that kernel. This host test
// reads their JSON report: each file there is one test here, failing with its failures.
// Outside this guest no test ever calls connect() on AF_VSOCK (see test/support/connect-guard.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runUml, umlMissing, umlModuleDir, UML_GUEST_DIR } from '@flow/uml';

const BOOT_TIMEOUT_MS = 900_000;
const MODULES = ['net/vmw_vsock/vsock.ko', 'net/vmw_vsock/vmw_vsock_virtio_transport_common.ko', 'net/vmw_vsock/vsock_loopback.ko'];
const PACKAGE = path.join(__dirname, '..');
const FILES = fs
  .readdirSync(path.join(__dirname, 'uml'))
  .filter((f) => f.endsWith('.test.ts'))
  .sort();

interface AssertionResult {
  readonly fullName: string;
  readonly status: string;
  readonly failureMessages: readonly string[];
}
interface FileResult {
  readonly name: string;
  readonly message: string;
  readonly assertionResults: readonly AssertionResult[];
}

let work = '';
let report: { testResults: FileResult[] } | undefined;
let failure = '';

beforeAll(async () => {
  const missing = umlMissing(MODULES);
  if (missing !== undefined) throw new Error(`user-mode Linux is needed for the AF_VSOCK tests (a CI peer): ${missing}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-hvsock-uml-'));
  const results = path.join(work, 'results');
  fs.mkdirSync(results);
  fs.mkdirSync(path.join(work, 'state'));
  const { output } = await runUml(
    {
      init: path.join(__dirname, 'fixtures', 'uml', 'guest.sh'),
      stateDir: path.join(work, 'state'),
      mem: '1536M',
      env: {
        FLOW_PACKAGE: PACKAGE,
        FLOW_RESULTS: results,
        FLOW_MODULES: path.join(umlModuleDir() as string, 'net', 'vmw_vsock'),
        FLOW_GUEST: UML_GUEST_DIR,
        FLOW_JEST: require.resolve('jest/bin/jest'),
        FLOW_TESTS: process.env.HVSOCK_UML_TESTS ?? '',
      },
    },
    BOOT_TIMEOUT_MS,
  );
  const read = (f: string): string => (fs.existsSync(path.join(results, f)) ? fs.readFileSync(path.join(results, f), 'utf8') : `(no ${f})`);
  const logs = `insmod.log:\n${read('insmod.log')}\ntest.log (tail):\n${read('test.log').slice(-8000)}\nconsole (tail):\n${output.slice(-3000)}`;
  if (!fs.existsSync(path.join(results, 'jest.json'))) {
    failure = `the guest left no test report (rc ${read('rc').trim()})\n${logs}`;
    return;
  }
  report = JSON.parse(fs.readFileSync(path.join(results, 'jest.json'), 'utf8')) as { testResults: FileResult[] };
  if (process.env.HVSOCK_UML_VERBOSE === '1') process.stdout.write(logs);
}, BOOT_TIMEOUT_MS + 30_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('inside user-mode Linux, over real AF_VSOCK (vsock_loopback, CID 1)', () => {
  test.each(FILES)('%s passes', (file) => {
    if (failure) throw new Error(failure);
    const result = report?.testResults.find((r) => path.basename(r.name) === file);
    if (!result) {
      if (process.env.HVSOCK_UML_TESTS) return; // a run restricted to other files
      throw new Error(`${file} did not run in the guest`);
    }
    const failed = result.assertionResults.filter((a) => a.status === 'failed');
    const passed = result.assertionResults.filter((a) => a.status === 'passed');
    if (failed.length > 0 || result.message) {
      const details = failed.map((a) => `✕ ${a.fullName}\n${a.failureMessages.join('\n').slice(0, 3000)}`).join('\n\n');
      throw new Error(`${failed.length} of ${result.assertionResults.length} failed in ${file}\n${details}\n${result.message.slice(0, 3000)}`);
    }
    expect(passed.length).toBeGreaterThan(0);
  });
});
