// The README's runnable example (a Firecracker-style VMM socket answered in this process), as
// written there, with the socket in a temporary directory instead of /tmp/v.sock.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF } from '@flow/core';
import { connect } from '../src';

test("the README's hybrid-vsock example echoes through a VMM socket", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvsock-readme-'));
  const printed: string[] = [];
  const console = { log: (line: string) => printed.push(line) };
  try {
    // The VMM: reads "CONNECT <port>\n", answers "OK <n>\n", then relays to the guest (here: echoes).
    const vmm = createServer((s) => s.once('data', () => { s.write('OK 1073741824\n'); s.pipe(s); }));
    await new Promise<void>((r) => vmm.listen(join(dir, 'v.sock'), r));

    const r = await connect(`hybrid-vsock://:52${join(dir, 'v.sock')}`);
    if (!r.ok) throw r.error;
    await r.value.write(Buffer.from('hello guest'));
    const echoed = await r.value.read();
    if (echoed.ok && echoed.value !== EOF) console.log(Buffer.from(echoed.value).toString()); // hello guest
    r.value.abort();
    vmm.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(printed).toEqual(['hello guest']);
});
