import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { BusyPoll, busyPollDefault, DEFAULT_BUSY_POLL_MICROS, FIRST_EPOCH_REPLIES, MAX_EPOCH_REPLIES, MIN_GAIN_MICROS, TRIAL_REPLIES } from '../src';

/** A poller on a clock the test moves, with poll steps queued for the test to run. */
function manual(maxMicros = 100, startMicros?: number) {
  let t = 0;
  const steps: (() => void)[] = [];
  const poll = new BusyPoll({ maxMicros, ...(startMicros === undefined ? {} : { startMicros }), now: () => t, schedule: (s) => steps.push(s) });
  return {
    poll,
    steps,
    /** Moves the clock by `micros`. */
    advance(micros: number) {
      t += micros / 1000;
    },
    /** Runs queued steps (each may queue the next) until none is left; returns how many ran. */
    drain(): number {
      let n = 0;
      while (steps.length > 0) {
        steps.shift()!();
        n++;
        if (n > 10_000) throw new Error('the poll never ended');
      }
      return n;
    },
  };
}

describe('BusyPoll: how the window adapts', () => {
  test('starts closed: the first reply opens no window', () => {
    const m = manual();
    expect(m.poll.windowMicros).toBe(0);
    m.poll.replied();
    expect(m.steps).toHaveLength(0);
    expect(m.poll.isPolling).toBe(false);
  });

  test('a request soon after a reply opens the window at its start, and later ones double it up to the longest', () => {
    const m = manual(100, 25);
    const cycle = (gapMicros: number) => {
      m.poll.replied();
      m.advance(gapMicros);
      m.poll.requested();
    };
    cycle(40); // no window yet; 40 µs is within the longest (100): open at 25
    expect(m.poll.windowMicros).toBe(25);
    cycle(40); // closed at 25, came at 40: too short, double
    expect(m.poll.windowMicros).toBe(50);
    cycle(40); // within 50: a hit, the window stays
    expect(m.poll.windowMicros).toBe(50);
    cycle(90);
    expect(m.poll.windowMicros).toBe(100);
    cycle(99);
    expect(m.poll.windowMicros).toBe(100); // never above the longest
    expect(m.poll.stats).toMatchObject({ hits: 2, late: 3, idle: 0, slept: 0 });
  });

  test('gaps longer than the longest window halve it, down to closed', () => {
    const m = manual(100, 25);
    for (const gap of [10, 30, 60]) {
      m.poll.replied();
      m.advance(gap);
      m.poll.requested();
    }
    expect(m.poll.windowMicros).toBe(100);
    const idle = (expected: number) => {
      m.poll.replied();
      m.advance(5000); // a client that thinks for 5 ms
      m.poll.requested();
      expect(m.poll.windowMicros).toBe(expected);
    };
    idle(50);
    idle(25);
    idle(0);
    idle(0);
    expect(m.poll.stats.idle).toBe(4);
  });

  test('a request without a reply before it (the first, or a second in a row) changes nothing', () => {
    const m = manual();
    m.poll.requested();
    expect(m.poll.windowMicros).toBe(0);
    m.poll.replied();
    m.advance(10);
    m.poll.requested();
    expect(m.poll.windowMicros).toBe(25);
    m.advance(10_000);
    m.poll.requested(); // no reply in between: not a gap after a reply
    expect(m.poll.windowMicros).toBe(25);
    expect(m.poll.stats).toMatchObject({ hits: 0, late: 1, idle: 0 });
  });

  test('the window polls until it closes, a reply meanwhile extends it, and stop() closes it at the next step', () => {
    const m = manual(100, 100);
    m.poll.replied();
    m.advance(1);
    m.poll.requested(); // opens 100 µs
    m.poll.replied();
    expect(m.poll.isPolling).toBe(true);
    expect(m.steps).toHaveLength(1);
    // Each step re-arms while the window is open.
    for (let i = 0; i < 5; i++) {
      m.advance(10);
      m.steps.shift()!();
      expect(m.steps).toHaveLength(1);
    }
    m.poll.replied(); // at 50 µs: now open until 150
    m.advance(60);
    m.steps.shift()!();
    expect(m.poll.isPolling).toBe(true);
    m.advance(50); // 160 µs: past the end
    expect(m.drain()).toBe(1);
    expect(m.poll.isPolling).toBe(false);
    expect(m.poll.stats.windows).toBe(2);
    expect(m.poll.stats.pollingMs).toBeCloseTo(0.16, 6);
    m.poll.replied();
    expect(m.poll.isPolling).toBe(true);
    m.poll.stop();
    expect(m.drain()).toBe(1);
    expect(m.poll.isPolling).toBe(false);
  });

  test('a longest window of 0 never polls', () => {
    const m = manual(0);
    for (let i = 0; i < 5; i++) {
      m.poll.replied();
      m.advance(1);
      m.poll.requested();
    }
    expect(m.poll.windowMicros).toBe(0);
    expect(m.steps).toHaveLength(0);
    expect(m.poll.stats).toMatchObject({ hits: 0, late: 0, idle: 0, windows: 0 });
  });

  test('refuses windows it cannot honour', () => {
    expect(() => new BusyPoll({ maxMicros: -1 })).toThrow(RangeError);
    expect(() => new BusyPoll({ maxMicros: Number.NaN })).toThrow(RangeError);
    expect(() => new BusyPoll({ maxMicros: 2_000_000 })).toThrow(RangeError);
    expect(() => new BusyPoll({ maxMicros: 100, startMicros: 0 })).toThrow(RangeError);
    expect(() => new BusyPoll({ maxMicros: 100, startMicros: 101 })).toThrow(RangeError);
    expect(() => new BusyPoll({ maxMicros: 0 })).not.toThrow();
  });

  test('the default is the longest window on a machine with two CPUs or more, and 0 on one', () => {
    expect(busyPollDefault()).toBe(availableParallelism() >= 2 ? DEFAULT_BUSY_POLL_MICROS : 0);
  });
});

/**
 * Runs `cycles` request/reply cycles against a client model: `turnaround(polled, window)` says
 * how many microseconds after a reply the next request arrives, given whether the server polled.
 * Returns, per cycle, whether the reply was polled through.
 */
function simulate(m: ReturnType<typeof manual>, cycles: number, turnaround: (polled: boolean, windowMicros: number) => number): boolean[] {
  const polled: boolean[] = [];
  for (let i = 0; i < cycles; i++) {
    const before = m.poll.stats.windows;
    const windowMicros = m.poll.windowMicros;
    m.poll.replied();
    const p = m.poll.stats.windows > before;
    polled.push(p);
    m.advance(turnaround(p, windowMicros));
    m.poll.requested();
  }
  return polled;
}

describe('BusyPoll: whether polling is worth it', () => {
  /** Polled replies among `polled[from, to)`. */
  const count = (polled: boolean[], from: number, to = polled.length) => polled.slice(from, to).filter((p) => p).length;

  test('a client on another CPU of a VM (polling halves the turnaround): it keeps polling, trying sleep ever more rarely', () => {
    const m = manual(100, 25);
    // Slept through, the server must be woken: 30 µs of client plus 30 µs of wakeup.
    const polled = simulate(m, 60_000, (p) => (p ? 30 : 60));
    expect(m.poll.stats.switches).toBe(0);
    expect(m.poll.mode).toBe('polling');
    // Epochs of 512, 1024, ... up to 16384 replies, each followed by a trial of 256 slept replies.
    expect(m.poll.stats.trials).toBeGreaterThanOrEqual(5);
    expect(m.poll.stats.trials).toBeLessThanOrEqual(7);
    expect(count(polled, 0)).toBeGreaterThan(60_000 - 7 * TRIAL_REPLIES - 2);
    // The first trial comes right after the first epoch.
    expect(count(polled, FIRST_EPOCH_REPLIES, FIRST_EPOCH_REPLIES + TRIAL_REPLIES)).toBe(0);
    expect(m.poll.stats.polledTurnaroundMicros).toBeCloseTo(30, 6);
    expect(m.poll.stats.sleptTurnaroundMicros).toBeCloseTo(60, 6);
  });

  test('a client on the same CPU (it cannot run while the server polls): after the first trial it sleeps, trying polling again now and then', () => {
    const m = manual(100, 25);
    // Polled, the client answers only once the window has closed; slept, it answers at once.
    const polled = simulate(m, 40_000, (p, w) => (p ? w + 5 : 5));
    expect(m.poll.mode).toBe('sleeping');
    expect(m.poll.stats.switches).toBe(1);
    // From the end of the first trial on, only later trials polled.
    const firstDecision = FIRST_EPOCH_REPLIES + TRIAL_REPLIES;
    expect(count(polled, firstDecision)).toBeLessThanOrEqual(m.poll.stats.trials * TRIAL_REPLIES);
    expect(count(polled, firstDecision)).toBeLessThan((40_000 - firstDecision) / 10);
  });

  test('cheap wakeups (bare metal: polling saves 5 %) are not worth polling for', () => {
    const m = manual(100, 25);
    simulate(m, 5000, (p) => (p ? 19 : 20));
    expect(m.poll.mode).toBe('sleeping');
  });

  test('several clients keeping the server busy (requests a few µs apart either way): polling saves too little per request, it sleeps', () => {
    const m = manual(100, 25);
    // Polling cuts the turnaround by a third, but by 3 µs of the tens a halted vCPU's wakeup costs.
    simulate(m, 5000, (p) => (p ? 6 : 9));
    expect(m.poll.mode).toBe('sleeping');
    expect(m.poll.stats.polledTurnaroundMicros! - m.poll.stats.sleptTurnaroundMicros!).toBeCloseTo(-3, 6);
    // A gain of MIN_GAIN_MICROS is enough, where it is also a tenth.
    const n = manual(100, 25);
    simulate(n, 5000, (p) => (p ? 20 : 20 + MIN_GAIN_MICROS));
    expect(n.poll.mode).toBe('polling');
  });

  test('a client that pauses longer than the longest window gives nothing to compare: the server sleeps', () => {
    const m = manual(100, 25);
    const polled = simulate(m, 5000, () => 500);
    expect(m.poll.mode).toBe('sleeping');
    expect(m.poll.windowMicros).toBe(0);
    expect(count(polled, 0)).toBe(0);
  });

  test('after sleeping for a while, it polls again once polling has become worth it', () => {
    const m = manual(100, 25);
    simulate(m, 5000, (p, w) => (p ? w + 5 : 5));
    expect(m.poll.mode).toBe('sleeping');
    // The trials come at most MAX_EPOCH_REPLIES apart, so the change is found within that and a trial.
    const polled = simulate(m, MAX_EPOCH_REPLIES + 2 * TRIAL_REPLIES + 1000, (p) => (p ? 30 : 60));
    expect(m.poll.mode).toBe('polling');
    expect(count(polled, polled.length - 500)).toBe(500);
  });
});

describe('BusyPoll on the real event loop', () => {
  test('while a window is open the loop keeps running steps, and timers and sockets are served meanwhile', async () => {
    // A long window (50 ms) so that the other work has time to happen inside it.
    const poll = new BusyPoll({ maxMicros: 50_000, startMicros: 50_000 });
    poll.replied();
    poll.requested(); // gap ~0: opens the window at 50 ms
    expect(poll.windowMicros).toBe(50_000);

    const server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const client: Socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', r));

    poll.replied();
    expect(poll.isPolling).toBe(true);
    const timerFired = new Promise<boolean>((r) => setTimeout(() => r(poll.isPolling), 5));
    const echoed = new Promise<boolean>((r) => client.once('data', () => r(poll.isPolling)));
    client.write('ping');
    // Both happened while the window was still open: polling did not hold them up.
    expect(await timerFired).toBe(true);
    expect(await echoed).toBe(true);
    // And the window ends by itself.
    while (poll.isPolling) await new Promise((r) => setTimeout(r, 10));
    expect(poll.stats.pollingMs).toBeGreaterThanOrEqual(49);
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
