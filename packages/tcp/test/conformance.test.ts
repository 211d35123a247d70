import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFlowConformance } from '@flow/conformance';
import { connect, listen, socketCapabilities, type ConnectTarget, type ListenTarget } from '../src';

async function socketPair(where: ListenTarget, to: (port: number) => ConnectTarget, dispose?: () => void) {
  const r = await listen(where);
  if (!r.ok) throw r.error;
  const listener = r.value;
  const port = 'port' in listener.address ? listener.address.port : 0;
  const [a, b] = await Promise.all([connect(to(port)), listener.accept()]);
  if (!a.ok) throw a.error;
  if (!b.ok) throw b.error;
  return {
    a: a.value,
    b: b.value,
    cleanup: async () => {
      await listener.closeAll();
      dispose?.();
    },
  };
}

describeFlowConformance({
  name: 'tcp over 127.0.0.1',
  capabilities: socketCapabilities(false, undefined),
  makePair: () => socketPair({ host: '127.0.0.1', port: 0 }, (port) => ({ host: '127.0.0.1', port })),
});

describeFlowConformance({
  name: 'tcp over [::1]',
  capabilities: socketCapabilities(false, undefined),
  makePair: () => socketPair({ host: '::1', port: 0 }, (port) => ({ host: '::1', port })),
});

describeFlowConformance({
  name: 'unix-domain socket',
  capabilities: socketCapabilities(true, undefined),
  makePair: () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-tcp-'));
    const path = join(dir, 's.sock');
    return socketPair({ path }, () => ({ path }), () => rmSync(dir, { recursive: true, force: true }));
  },
});
