// The flow conformance suite on a console: a = dom0's backend (connectConsole), b = the guest's
// frontend (connectFrontend), both on one simulated machine in this thread (the worker tests run
// the frontend in a worker thread). Half-close is emulated with the XenbusState of each end: a
// shutdownWrite waits until the peer has read the ring, then sets its own state Closing, and the
// peer reads EOF once the ring is empty. A Linux hvc_xen guest closes its whole console on the
// backend's Closing; this frontend is the one a Node guest uses, with `halfClose`, which keeps
// writing. Every check that cannot apply is skipped below with the reason.
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
    connectFrontend({ platform: sim.platform(GUEST), devid: DEVID, page: new SabPage(), timeoutMs: 10_000, halfClose: true }),
  ]);
  if (!back.ok || !front.ok) {
    await sim.close();
    throw back.ok ? (front as { error: Error }).error : back.error;
  }
  return { a: back.value, b: front.value.flow, cleanup: () => sim.close() };
}

describeFlowConformance({
  name: 'xen console: a = connectConsole (dom0 backend), b = connectFrontend (hvc_xen-like guest), simulated hypervisor',
  makePair: consolePair,
  capabilities: { halfCloseWrite: 'emulated', halfCloseRead: 'emulated', abort: 'close' },
  maxBytes: 1024 * 1024,
  timeoutMs: 60_000,
  skipCases: {
    'half-close: b shuts its write side first: a reads the data then EOF, and a→b keeps working':
      "the backend answers the guest's Closing with its own Closing, as QEMU's xen_console_frontend_changed does (a Linux guest shutting down waits up to 5 s for it, in xenbus_dev_shutdown), and the backend's Closing is the end of its output: a→b ends with b's shutdownWrite",
  },
  skip: {
    'close-handshake':
      'a console has no close handshake: close() never waits for the peer (closeWaitsForPeer false; the guest may never close, and a PV console has no end of stream to wait for), so close({ timeoutMs }) and close({ signal }) cannot time out or be aborted while waiting, and close() resolves before the peer closes',
  },
});
