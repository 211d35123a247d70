// The flow conformance suite on a console: a = dom0's backend (connectConsole), b = the guest's
// Linux-like frontend (connectFrontend), both on one simulated machine in this thread (the
// worker tests run the frontend in a worker thread). A PV console has no end of stream
// (halfCloseWrite 'none'): the suite's half-close checks are skipped by the capabilities, and
// every other check that cannot apply is skipped below with the reason.
import { describeFlowConformance, type FlowPair } from '@flow/conformance';
import { connectConsole, connectFrontend, createConsole } from '../src';
import { SabPage } from '../src/sim/sab-page';
import { SimXen } from '../src/sim/sim-xen';

const GUEST = 3;
const DEVID = 1;

async function consolePair(): Promise<FlowPair> {
  const sim = new SimXen();
  const made = await sim.createGuest(GUEST);
  if (!made.ok) throw made.error;
  const dom0 = sim.platform(0);
  const xs = await dom0.xenstore();
  if (!xs.ok) throw xs.error;
  const created = await createConsole(xs.value, { domid: GUEST, devid: DEVID });
  await xs.value.close();
  if (!created.ok) throw created.error;
  const [back, front] = await Promise.all([
    connectConsole({ platform: dom0, domid: GUEST, devid: DEVID, handshakeTimeoutMs: 10_000 }),
    connectFrontend({ platform: sim.platform(GUEST), devid: DEVID, page: new SabPage(), timeoutMs: 10_000 }),
  ]);
  if (!back.ok || !front.ok) {
    await sim.close();
    throw back.ok ? (front as { error: Error }).error : back.error;
  }
  return { a: back.value, b: front.value.flow, cleanup: () => sim.close() };
}

/** Why shutdownWrite cannot end a transfer here (each check below that relies on it names it). */
const NO_EOF_ON_SHUTDOWN =
  "shutdownWrite() of a PV console signals nothing to the peer (halfCloseWrite 'none': the console page has no end-of-stream mark, and neither end changes its xenstore state for it), so the peer never reads EOF after it";

describeFlowConformance({
  name: 'xen console: a = connectConsole (dom0 backend), b = connectFrontend (hvc_xen-like guest), simulated hypervisor',
  makePair: consolePair,
  capabilities: { halfCloseWrite: 'none', halfCloseRead: 'emulated', abort: 'close' },
  maxBytes: 1024 * 1024,
  timeoutMs: 60_000,
  skip: {
    integrity: `every case but "both directions at once" ends its transfer with shutdownWrite() and reads to EOF: ${NO_EOF_ON_SHUTDOWN}; integrity both ways, over many ring wraps and the 2^31/2^32 index wraps, is in worker-backend.test.ts`,
    writev: `every case ends with shutdownWrite() and reads to EOF: ${NO_EOF_ON_SHUTDOWN}`,
    backpressure: `the transfer ends with shutdownWrite() and the slow reader reads to EOF: ${NO_EOF_ON_SHUTDOWN}`,
    stats: `"stats agree…" ends with shutdownWrite() and reads to EOF: ${NO_EOF_ON_SHUTDOWN}`,
    'read-into': `two of three cases end with shutdownWrite() and read to EOF: ${NO_EOF_ON_SHUTDOWN}`,
    'read-signal': `"a read with an already aborted signal…" ends with shutdownWrite() and reads to EOF: ${NO_EOF_ON_SHUTDOWN}`,
    'write-after-close': `"write and writev after shutdownWrite…" expects the peer to read EOF after shutdownWrite(): ${NO_EOF_ON_SHUTDOWN}`,
    'close-handshake':
      'a console has no close handshake: close() never waits for the peer (closeWaitsForPeer false; the guest may never close, and a PV console has no end of stream to wait for), so close({ timeoutMs }) and close({ signal }) cannot time out or be aborted while waiting, and close() resolves before the peer closes',
  },
});
