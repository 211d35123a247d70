// Real programs inside the guest: Node (hashing, JSON, a child process and a worker thread at
// once) and a C probe of the vector registers. Both broke while UML restored only the FXSAVE part
// of guest processes' vector state (see guest/xstate-shim.c): glibc's AVX2/EVEX string functions
// lost their registers at page faults, and Node aborted at startup with "Invalid bytecode".
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CC, runUml, umlMissing } from '../src';

// Runs in the guest and on the host; both must print the same line. The worker hashes while the
// main thread works, so two threads of one process share the CPU.
const NODE_WORK = String.raw`
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const data = Buffer.alloc(8 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 12)) & 0xff;
const worker = new Worker(
  "const { parentPort, workerData } = require('node:worker_threads');" +
    "const h = require('node:crypto').createHash('sha512');" +
    "for (let r = 0; r < 8; r++) h.update(workerData);" +
    "parentPort.postMessage(h.digest('hex'));",
  { eval: true, workerData: data },
);
const fromWorker = new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
const sha256 = crypto.createHash('sha256').update(data).digest('hex');
const doc = { items: Array.from({ length: 20000 }, (_, i) => ({ id: i, name: 'item-' + i.toString(36), score: i / 7, tags: ['a' + (i % 13), 'b' + (i % 17)] })) };
const text = JSON.stringify(doc);
const back = JSON.parse(text);
const roundTrip = JSON.stringify(back) === text && back.items[12345].name === 'item-' + (12345).toString(36);
const json = crypto.createHash('sha1').update(text).digest('hex') + ' ' + text.length + ' ' + roundTrip;
const child = execFileSync('/bin/sh', ['-c', 'echo "child $((6 * 7))"'], { encoding: 'utf8' }).trim();
fromWorker.then((sha512) => {
  console.log(JSON.stringify({ sha256, json, child, worker: sha512 }));
});
`;

let work: string;
let vectorProbe: string;
let console_ = '';

function read(name: string): string {
  const file = path.join(work, name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `(no ${name}; console:\n${console_.slice(-4000)})`;
}

beforeAll(async () => {
  const missing = umlMissing();
  if (missing !== undefined) throw new Error(`user-mode Linux is needed (a CI peer): ${missing}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-uml-programs-'));
  fs.mkdirSync(path.join(work, 'state'));
  vectorProbe = path.join(work, 'vector-state');
  execFileSync(CC, ['-O2', '-o', vectorProbe, path.join(__dirname, 'fixtures', 'vector-state.c')]);
  fs.writeFileSync(path.join(work, 'work.js'), NODE_WORK);
  const init = path.join(work, 'init.sh');
  fs.writeFileSync(
    init,
    `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LC_ALL=C
mount -t proc proc /proc
${vectorProbe} > ${work}/vector.out 2>&1
${process.execPath} -e "$(cat ${work}/work.js)" > ${work}/node.out 2>&1
echo $? > ${work}/node.rc
sync
echo o > /proc/sysrq-trigger
`,
    { mode: 0o755 },
  );
  const { output } = await runUml({ init, stateDir: path.join(work, 'state'), mem: '512M' }, 120_000);
  console_ = output;
}, 150_000);

afterAll(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

test('a guest process keeps its vector registers across system calls and page faults, as on the host', () => {
  const host = execFileSync(vectorProbe, { encoding: 'utf8' });
  expect(host).toMatch(/^syscall xmm=kept .*\npage-fault xmm=kept .*\n$/);
  expect(host).not.toContain('LOST');
  expect(read('vector.out')).toBe(host);
});

test('node -e hashes 8 MiB, round-trips JSON, runs a child process and a worker thread in the guest', () => {
  const host = execFileSync(process.execPath, ['-e', NODE_WORK], { encoding: 'utf8' });
  expect(JSON.parse(host)).toMatchObject({ child: 'child 42', json: expect.stringMatching(/ true$/) });
  expect(read('node.out')).toBe(host);
  expect(read('node.rc')).toBe('0\n');
});
