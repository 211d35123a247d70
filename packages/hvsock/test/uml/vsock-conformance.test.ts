// The flow contract over real AF_VSOCK (our addon to itself, CID 1 inside user-mode Linux).
import { describeFlowConformance } from '@flow/conformance';
import { bufferedSocketCapabilities } from '../../src/capabilities';
import { connectVsock } from '../../src/vsock/connect';
import { listener, LOCAL } from './support';

async function vsockPair() {
  const l = await listener();
  const [a, b] = await Promise.all([connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }), l.accept()]);
  if (!a.ok) throw a.error;
  if (!b.ok) throw b.error;
  return { a: a.value, b: b.value, cleanup: () => l.closeAll() };
}

describeFlowConformance({
  name: 'AF_VSOCK over the loopback transport',
  capabilities: bufferedSocketCapabilities,
  maxBytes: 16 * 1024 * 1024,
  makePair: vsockPair,
});
