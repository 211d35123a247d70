// The xen-console:// endpoint: on this machine (no Xen) the real command reports the missing
// /dev/xen cleanly; against the simulator (in this process) the endpoint creates the guest's
// console, waits for the guest's frontend and carries bytes both ways.
import { EOF, ok, type Flow } from '@flow/core';
import { connectFrontend } from '@flow/xen-console';
import { SabPage, SimXen } from '@flow/xen-console/sim';
import { parseXenConsoleUri, xenConsoleFamily } from '../src/endpoints/xen-console';
import { killAllFlows, runFlow } from './support/flow-process';

afterEach(async () => {
  await killAllFlows();
});

test('flow connect xen-console://5/1 without Xen exits 3 and says /dev/xen is missing', async () => {
  const r = await runFlow(['connect', 'xen-console://5/1', '--timeout', '2000']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/unsupported: no Xen: \/dev\/xen\/gntdev does not exist/);
});

test.each([
  ['xen-console://5/0', /primary console/],
  ['xen-console://0/1', /domain 0 is this side/],
  ['xen-console://5/12', /expected xen-console:\/\/DOMID/],
  ['xen-console://99999/1', /out of range/],
  ['xen-console://five', /expected xen-console:\/\/DOMID/],
])('%s is a usage error that says what is wrong', async (uri, message) => {
  const r = await runFlow(['connect', uri]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
});

test('xen-console://5 means device 1', () => {
  expect(parseXenConsoleUri('xen-console://5')).toEqual(ok({ domid: 5, devid: 1 }));
});

async function readText(flow: Flow, n: number): Promise<string> {
  let text = '';
  while (text.length < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) break;
    text += Buffer.from(r.value).toString();
  }
  return text;
}

test('against the simulator: the endpoint creates the console, the guest connects, bytes go both ways', async () => {
  const sim = new SimXen();
  try {
    const made = await sim.createGuest(7);
    if (!made.ok) throw made.error;
    const family = xenConsoleFamily(async () => ok(sim.platform(0)));
    const parsed = family.parse('xen-console://7/2', 'xen-console', 'connect');
    if (!parsed.ok) throw new Error(parsed.error);
    // The guest's frontend waits for its console's nodes, which the endpoint creates.
    const guest = connectFrontend({ platform: sim.platform(7), devid: 2, page: new SabPage(), timeoutMs: 10_000 });
    const backend = await parsed.value.connect!({ timeoutMs: 10_000 });
    if (!backend.ok) throw backend.error;
    const front = await guest;
    if (!front.ok) throw front.error;
    await front.value.flow.write(Buffer.from('login: '));
    expect(await readText(backend.value, 7)).toBe('login: ');
    await backend.value.write(Buffer.from('root\n'));
    expect(await readText(front.value.flow, 5)).toBe('root\n');
    await backend.value.close();
    front.value.flow.abort();
  } finally {
    await sim.close();
  }
});
