// `flow proxy` between TCP and real AF_VSOCK: a user-mode Linux guest (Debian's
// user-mode-linux, a CI peer) loads the vsock loopback transport and runs the real `flow`
// command both ways, and `flow connect` (test/fixtures/uml/vsock-proxy.cjs); CID 1 never leaves that kernel.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runUml, umlMissing, umlModuleDir, UML_GUEST_DIR } from '@flow/uml';

const MODULES = ['net/vmw_vsock/vsock.ko', 'net/vmw_vsock/vmw_vsock_virtio_transport_common.ko', 'net/vmw_vsock/vsock_loopback.ko'];

interface GuestResult {
  tcpToVsock?: { requests: number; ok: number; bytes: number };
  vsockToTcp?: { listenUri: string; requests: number; ok: number };
  connect?: { code: number; ok: boolean };
  error?: string;
}

let result: GuestResult = {};
let work = '';

beforeAll(async () => {
  const missing = umlMissing(MODULES);
  if (missing !== undefined) throw new Error(`user-mode Linux is needed for this test (a CI peer): ${missing}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-cli-uml-'));
  const results = path.join(work, 'results');
  fs.mkdirSync(results);
  fs.mkdirSync(path.join(work, 'state'));
  const { output } = await runUml(
    {
      init: path.join(__dirname, 'fixtures', 'uml', 'guest.sh'),
      stateDir: path.join(work, 'state'),
      mem: '1G',
      env: { FLOW_GUEST: UML_GUEST_DIR, FLOW_MODULES: path.join(umlModuleDir() as string, 'net', 'vmw_vsock'), FLOW_RESULTS: results },
    },
    300_000,
  );
  const file = path.join(results, 'result.json');
  if (!fs.existsSync(file)) {
    const log = (f: string): string => (fs.existsSync(path.join(results, f)) ? fs.readFileSync(path.join(results, f), 'utf8') : `(no ${f})`);
    throw new Error(`the guest wrote no result\ninsmod.log: ${log('insmod.log')}\nguest.log: ${log('guest.log')}\nconsole: ${output.slice(-3000)}`);
  }
  result = JSON.parse(fs.readFileSync(file, 'utf8')) as GuestResult;
}, 330_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('flow proxy tcp://127.0.0.1:0 vsock://1:PORT: 21 concurrent TCP clients (one of 32 MiB) get their hash-checked replies after the half-close', () => {
  expect(result.error).toBeUndefined();
  expect(result.tcpToVsock).toMatchObject({ requests: 21, ok: 21 });
  expect(result.tcpToVsock?.bytes).toBeGreaterThan(32 * 1024 * 1024);
});

test('flow proxy vsock://:* tcp://…: vsock clients reach the TCP server through the port the proxy printed', () => {
  expect(result.error).toBeUndefined();
  expect(result.vsockToTcp).toMatchObject({ requests: 10, ok: 10 });
  expect(result.vsockToTcp?.listenUri).toMatch(/^vsock:\/\/any:\d+$/);
});

test('flow connect vsock://1:PORT sends stdin, half-closes, prints the reply and exits 0', () => {
  expect(result.error).toBeUndefined();
  expect(result.connect).toEqual({ code: 0, ok: true });
});
