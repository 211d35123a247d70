// The README's example, as written there (imports from the package's source).
import { EOF } from '@flow/core';
import { connectConsole, connectFrontend, createConsole } from '../src';
import { SabPage, SimXen } from '../src/sim';

test("the README's example runs on the simulator and prints the guest's prompt", async () => {
  const printedLines: string[] = [];
  const console = { log: (line: string) => printedLines.push(line) };

  const sim = new SimXen();
  await sim.createGuest(5); // a guest domain, as the toolstack would start it
  const dom0 = sim.platform(0); // on real Xen: LinuxPlatform.open()

  const xs = await dom0.xenstore();
  if (!xs.ok) throw xs.error;
  await createConsole(xs.value, { domid: 5, devid: 1 }); // nodes and permissions in ONE transaction
  await xs.value.close();

  // The guest's side (in a real guest, Linux's hvc_xen driver).
  const guest = connectFrontend({ platform: sim.platform(5), devid: 1, page: new SabPage() });
  const backend = await connectConsole({ platform: dom0, domid: 5, devid: 1 });
  const front = await guest;
  if (!backend.ok) throw backend.error;
  if (!front.ok) throw front.error;
  const consoleFlow = backend.value;

  await front.value.flow.write(Buffer.from('login: '));
  const printed = await consoleFlow.read();
  if (printed.ok && printed.value !== EOF) console.log(Buffer.from(printed.value).toString()); // login:
  await consoleFlow.log('root'); // "root\r\n" into the guest's input ring
  await consoleFlow.close(); // unmaps, unbinds, sets the backend Closed
  front.value.flow.abort();
  await sim.close();

  expect(printedLines).toEqual(['login: ']);
});
