// The harness itself: a guest boots, runs its init from the host's root, writes through
// hostfs and powers off.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runUml, umlMissing, umlModuleDir, UML_GUEST_DIR } from '../src';

test('a guest boots, sees the host root, loads a module with insmod.sh, writes a result and powers off', async () => {
  const missing = umlMissing(['net/vmw_vsock/vsock.ko']);
  if (missing !== undefined) throw new Error(`user-mode Linux is needed (a CI peer): ${missing}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-uml-'));
  try {
    fs.mkdirSync(path.join(work, 'state'));
    const init = path.join(work, 'init.sh');
    fs.writeFileSync(
      init,
      `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
sh ${UML_GUEST_DIR}/insmod.sh ${umlModuleDir()}/net/vmw_vsock/vsock.ko > ${work}/insmod.log 2>&1
echo "kernel $(uname -r) $(grep -c vsock /proc/modules)" > ${work}/result
sync
echo o > /proc/sysrq-trigger
`,
      { mode: 0o755 },
    );
    const { output } = await runUml({ init, stateDir: path.join(work, 'state') }, 60_000);
    const result = fs.existsSync(path.join(work, 'result')) ? fs.readFileSync(path.join(work, 'result'), 'utf8') : `no result; console:\n${output}`;
    expect(result).toMatch(/^kernel 6\.\d+\.\d+ 1\n$/);
    expect(fs.readFileSync(path.join(work, 'insmod.log'), 'utf8')).toBe('insmod vsock.ko ok\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
