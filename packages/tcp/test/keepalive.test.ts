import { execFileSync } from 'node:child_process';
import { connect, keepaliveApplied, keepaliveNext, KEEPALIVE_ALIVE, listen, type Keepalive, type KeepaliveState } from '../src';
import { expectOk } from './support';

// Linux's defaults, as in mirage-tcpip's test_keepalive.ml.
const linuxDefault: Keepalive = { after: 7200 * 1000, interval: 75 * 1000, probes: 9 };

/** Drives the state machine from `startMs`: waits advance the clock, probes are counted. */
function simulate(config: Keepalive, startMs: number): number {
  let now = startMs;
  let state: KeepaliveState = KEEPALIVE_ALIVE;
  let probes = 0;
  for (let step = 0; step <= 3 * config.probes; step++) {
    const next = keepaliveNext(config, now, state);
    state = next.state;
    if (next.action.action === 'close') return probes;
    if (next.action.action === 'send-probe') probes += 1;
    else now += next.action.ms;
  }
  throw new Error(`no close after ${3 * config.probes} steps: a loop in the keepalive state machine`);
}

describe('keepalive state machine', () => {
  test('sends exactly the configured number of probes when nothing is missed', () => {
    expect(simulate(linuxDefault, 0)).toBe(linuxDefault.probes);
  });

  test('does not send probes whose time has passed', () => {
    const late = linuxDefault.after + 2 * linuxDefault.interval;
    const probes = simulate(linuxDefault, late);
    expect(probes).toBeLessThan(linuxDefault.probes);
    expect(probes).toBe(linuxDefault.probes - 2);
  });

  test('sends no probe and closes when every probe time was missed', () => {
    const hopeless = linuxDefault.after + 2 * linuxDefault.probes * linuxDefault.interval;
    expect(simulate(linuxDefault, hopeless)).toBe(0);
  });

  test('waits until "after" first, then one interval between probes', () => {
    const c: Keepalive = { after: 1000, interval: 300, probes: 2 };
    expect(keepaliveNext(c, 400, KEEPALIVE_ALIVE).action).toEqual({ action: 'wait', ms: 600 });
    const first = keepaliveNext(c, 1000, KEEPALIVE_ALIVE);
    expect(first.action).toEqual({ action: 'send-probe' });
    expect(keepaliveNext(c, 1100, first.state).action).toEqual({ action: 'wait', ms: 200 });
  });
});

describe('keepalive on sockets', () => {
  test('the idle time is rounded up to whole seconds; interval and probes are what Node fixes', () => {
    expect(keepaliveApplied({ after: 7500, interval: 3000, probes: 4 })).toEqual({ after: 8000, interval: 1000, probes: 10, exact: false });
    expect(keepaliveApplied({ after: 0, interval: 1000, probes: 10 })).toEqual({ after: 1000, interval: 1000, probes: 10, exact: true });
  });

  test('a flow with keepalive has the kernel keepalive timer running (seen with ss)', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0', { keepalive: { after: 3000, interval: 1000, probes: 10 } }));
    const port = listener.address.port;
    const client = expectOk(await connect({ host: '127.0.0.1', port }, { keepalive: { after: 2500, interval: 2000, probes: 3 } }));
    const server = expectOk(await listener.accept());
    try {
      expect(client.keepalive).toEqual({ after: 3000, interval: 1000, probes: 10, exact: false });
      expect(client.capabilities.notes?.some((n) => n.startsWith('keepalive: only the idle time'))).toBe(true);
      expect(server.keepalive?.exact).toBe(true);
      const localPort = (client.src as { port: number }).port;
      const out = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${localPort} )`]).toString();
      const timer = /timer:\(keepalive,([\d.]+)(ms|sec|min)/.exec(out);
      expect(timer).not.toBeNull();
      const seconds = timer![2] === 'ms' ? Number(timer![1]) / 1000 : timer![2] === 'min' ? Number(timer![1]) * 60 : Number(timer![1]);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(3);
    } finally {
      client.abort();
      await listener.closeAll();
    }
  });
});
