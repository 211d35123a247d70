// Busy polling for request/reply servers: after a reply goes out, the event loop keeps polling its
// descriptors for a short window instead of sleeping in epoll, so that a client that answers
// quickly finds the server awake.
//
// Why: a client with one request in flight wakes the server once per request. Where the two run
// on different CPUs, that wakeup is an inter-processor interrupt, and on a virtual machine whose
// idle vCPUs halt it costs tens of microseconds, often more than the request itself. Linux offers
// the same trade for sockets on NAPI devices (SO_BUSY_POLL, net.core.busy_read) and for idle vCPUs
// (the haltpoll cpuidle governor); neither applies to loopback or to a guest that has it turned
// off, so this does it in the event loop: while a window is open, a chain of setImmediate
// callbacks keeps libuv polling with a zero timeout. I/O, timers and every other connection are
// served as usual meanwhile; only the sleep is skipped.
//
// The window adapts, so that polling is spent only where it catches something: a request that
// arrives within the window is a hit and the window stays; one that arrives after the window
// closed but within the longest window says the window was too short, and it doubles; a longer
// gap (a client that thinks, or has left) halves it, down to zero.
//
// Polling must also be worth it, which only measuring tells: where client and server share a CPU
// the client cannot run while the server polls, where wakeups are cheap (bare metal) there is
// little to win, and a busy server never sleeps anyway. So the poller runs in epochs: after an
// epoch of replies in its current mode (polling or sleeping) it tries the other mode for
// TRIAL_REPLIES replies, and compares the mean turnaround (from a reply to the next request) of
// the second half of each, after the machine has settled into the mode: a lone sleep between
// polls is cheap on a VM (the host still polls the vCPU), a sleep among sleeps is not. It polls
// on only where polling cuts the turnaround by at least a tenth and by at least MIN_GAIN_MICROS.
// Each trial that confirms the mode doubles the next epoch (FIRST_EPOCH_REPLIES up to
// MAX_EPOCH_REPLIES), so that trials cost little once the answer is steady; a trial that changes
// the mode starts over short. Gaps longer than the longest window are pauses, not turnarounds,
// and count in neither. With one CPU there is nothing to win at all: `busyPollDefault()` says 0
// there.
import { availableParallelism } from 'node:os';

/** How a `BusyPoll` polls: its longest and first windows (and, for tests, its clock and scheduler). */
export interface BusyPollOptions {
  /** The longest window, in microseconds: gaps longer than this are not worth polling through. Default 100. */
  readonly maxMicros?: number;
  /** The window the first short gap opens, in microseconds (above 0). Default a quarter of `maxMicros`. */
  readonly startMicros?: number;
  /** The clock, in milliseconds (fractional); `performance.now` unless a test replaces it. */
  readonly now?: () => number;
  /** How a poll step is scheduled; `setImmediate` unless a test replaces it. */
  readonly schedule?: (step: () => void) => void;
}

/** What a poller has done, for tests and for a server's statistics. */
export interface BusyPollStats {
  /** Requests that arrived while a window was open. */
  readonly hits: number;
  /** Requests that arrived after a window closed, within the longest window (the window grew). */
  readonly late: number;
  /** Requests that came after a gap longer than the longest window (the window shrank). */
  readonly idle: number;
  /** Requests that came soon after a reply slept through (sleeping mode, or a sleeping trial). */
  readonly slept: number;
  /** Windows opened (a reply went out with a window above zero). */
  readonly windows: number;
  /** Milliseconds the event loop spent polling instead of sleeping (an upper bound: it ends a window at its end). */
  readonly pollingMs: number;
  /** Trials of the other mode. */
  readonly trials: number;
  /** Trials that changed the mode. */
  readonly switches: number;
  /** Mean turnaround, in microseconds, of the last measured stretch polled through (undefined before one). */
  readonly polledTurnaroundMicros: number | undefined;
  /** Mean turnaround, in microseconds, of the last measured stretch slept through (undefined before one). */
  readonly sleptTurnaroundMicros: number | undefined;
}

/** The longest window `flow 9p serve` uses by default, in microseconds. */
export const DEFAULT_BUSY_POLL_MICROS = 100;
/** Replies in the current mode before the other is first tried, and again after each switch. */
export const FIRST_EPOCH_REPLIES = 512;
/** The longest epoch: a steady answer is checked at least this often. */
export const MAX_EPOCH_REPLIES = 16384;
/** Replies a trial of the other mode lasts. */
export const TRIAL_REPLIES = 256;
/** Turnarounds a stretch needs, in its second half, to be judged by. */
const MIN_SAMPLES = 16;
/** Polling is worth it when its mean turnaround is below this share of sleeping's... */
const WORTH_IT = 0.9;
/**
 * ...and at least this many microseconds shorter. A wakeup worth spinning to avoid costs tens of
 * microseconds (a halted vCPU); where the turnarounds are a few microseconds either way (several
 * clients keeping the server busy, or bare metal), the spin saves next to nothing per request,
 * and the CPU it takes is CPU the clients on this machine could have used.
 */
export const MIN_GAIN_MICROS = 10;

/**
 * The longest window to use on this machine: `DEFAULT_BUSY_POLL_MICROS`, or 0 where this process
 * may run on one CPU only (the client could not run while the server polls).
 */
export function busyPollDefault(): number {
  return availableParallelism() >= 2 ? DEFAULT_BUSY_POLL_MICROS : 0;
}

/**
 * One event loop's busy poller: share one between every connection a process serves (the loop is
 * one). A server calls `requested()` when a request arrives and `replied()` after each reply it
 * writes; `stop()` closes any open window (a server that stops).
 */
export class BusyPoll {
  private readonly maxMs: number;
  private readonly startMs: number;
  private readonly now: () => number;
  private readonly schedule: (step: () => void) => void;
  /** The current window, in milliseconds; 0: sleep at once. */
  private windowMs = 0;
  /** When the last reply went out, until a request arrives (the gap runs from here). */
  private lastReplyAt: number | undefined;
  /** Whether the last reply opened a window. */
  private lastReplyPolled = false;
  /** The open window ends here. */
  private until = 0;
  private polling = false;
  private pollStartedAt = 0;
  /** The mode between trials. */
  private pollingMode = true;
  /** Whether the current stretch is a trial of the other mode. */
  private trial = false;
  /** Replies in the current stretch (an epoch or a trial). */
  private stretchReplies = 0;
  private epochReplies = FIRST_EPOCH_REPLIES;
  /** Turnarounds in the second half of the current stretch. */
  private stretch = new Mean();
  /** The mean turnaround of the last epoch's second half, kept for the trial that follows. */
  private epochMean: Mean | undefined;
  private polledMean: number | undefined;
  private sleptMean: number | undefined;
  private counts = { hits: 0, late: 0, idle: 0, slept: 0, windows: 0, pollingMs: 0, trials: 0, switches: 0 };

  constructor(options: BusyPollOptions = {}) {
    const maxMicros = options.maxMicros ?? DEFAULT_BUSY_POLL_MICROS;
    if (!Number.isFinite(maxMicros) || maxMicros < 0 || maxMicros > 1_000_000) {
      throw new RangeError(`maxMicros must be between 0 and 1000000, not ${maxMicros}`);
    }
    const startMicros = options.startMicros ?? maxMicros / 4;
    if (maxMicros > 0 && !(Number.isFinite(startMicros) && startMicros > 0 && startMicros <= maxMicros)) {
      throw new RangeError(`startMicros must be above 0 and at most maxMicros (${maxMicros}), not ${startMicros}`);
    }
    this.maxMs = maxMicros / 1000;
    this.startMs = startMicros / 1000;
    this.now = options.now ?? (() => performance.now());
    this.schedule = options.schedule ?? ((step) => setImmediate(step));
  }

  /** The current window, in microseconds. */
  get windowMicros(): number {
    return this.windowMs * 1000;
  }

  /** Whether the loop is polling now. */
  get isPolling(): boolean {
    return this.polling;
  }

  /** The current verdict: poll through replies, or sleep at once (trials of the other aside). */
  get mode(): 'polling' | 'sleeping' {
    return this.pollingMode ? 'polling' : 'sleeping';
  }

  /** What the poller has done so far: counts of each kind of request, windows, trials, and the measured turnarounds. */
  get stats(): BusyPollStats {
    return {
      ...this.counts,
      polledTurnaroundMicros: this.polledMean === undefined ? undefined : this.polledMean * 1000,
      sleptTurnaroundMicros: this.sleptMean === undefined ? undefined : this.sleptMean * 1000,
    };
  }

  /** A request arrived: judge the gap since the last reply and adapt the window. */
  requested(): void {
    if (this.lastReplyAt === undefined || this.maxMs === 0) return;
    const gap = this.now() - this.lastReplyAt;
    this.lastReplyAt = undefined;
    // The second half of a stretch, after the machine has settled into its mode, is measured.
    if (gap <= this.maxMs && this.stretchReplies > this.stretchLength() / 2) this.stretch.add(gap);
    if (this.lastReplyPolled && gap <= this.windowMs) {
      this.counts.hits++;
    } else if (gap <= this.maxMs) {
      if (this.lastReplyPolled || this.windowMs === 0) {
        // Polled too short, or no window yet: the client answers this soon.
        this.counts.late++;
        this.windowMs = this.windowMs === 0 ? this.startMs : Math.min(this.maxMs, this.windowMs * 2);
      } else {
        this.counts.slept++;
      }
    } else {
      this.counts.idle++;
      this.windowMs = this.windowMs / 2 < this.startMs ? 0 : this.windowMs / 2;
    }
  }

  /** A reply went out: keep the loop polling for the current window, when replies are polled through. */
  replied(): void {
    if (this.maxMs === 0) return;
    const now = this.now();
    this.lastReplyAt = now;
    this.stretchReplies++;
    if (this.stretchReplies > this.stretchLength()) this.nextStretch();
    // Replies are polled through in polling mode, or in a trial of polling.
    const poll = this.windowMs > 0 && this.pollingMode !== this.trial;
    this.lastReplyPolled = poll;
    if (!poll) return;
    this.until = now + this.windowMs;
    this.counts.windows++;
    if (this.polling) return;
    this.polling = true;
    this.pollStartedAt = now;
    this.schedule(this.step);
  }

  /** Closes any open window now; the poller stays usable (a later reply opens another). */
  stop(): void {
    this.until = 0;
  }

  private stretchLength(): number {
    return this.trial ? TRIAL_REPLIES : this.epochReplies;
  }

  /** Ends an epoch (a trial of the other mode starts) or a trial (the better mode goes on). */
  private nextStretch(): void {
    const measured = this.stretch;
    this.stretch = new Mean();
    this.stretchReplies = 1;
    if (!this.trial) {
      this.epochMean = measured;
      this.trial = true;
      this.counts.trials++;
      return;
    }
    this.trial = false;
    const epoch = this.epochMean;
    this.epochMean = undefined;
    // Too few turnarounds (clients that pause longer than the longest window): nothing to
    // compare; sleeping then costs nothing worth saving, and polling would only spin through pauses.
    const enough = epoch !== undefined && epoch.samples >= MIN_SAMPLES && measured.samples >= MIN_SAMPLES;
    const polled = this.pollingMode ? epoch : measured;
    const slept = this.pollingMode ? measured : epoch;
    if (enough) {
      this.polledMean = polled!.value;
      this.sleptMean = slept!.value;
    }
    const pollingPays = enough && polled!.value < slept!.value * WORTH_IT && slept!.value - polled!.value >= MIN_GAIN_MICROS / 1000;
    if (pollingPays !== this.pollingMode) {
      this.pollingMode = pollingPays;
      this.counts.switches++;
      this.epochReplies = FIRST_EPOCH_REPLIES;
    } else {
      this.epochReplies = Math.min(MAX_EPOCH_REPLIES, this.epochReplies * 2);
    }
  }

  private readonly step = (): void => {
    const now = this.now();
    if (now < this.until) {
      this.schedule(this.step);
      return;
    }
    this.polling = false;
    this.counts.pollingMs += now - this.pollStartedAt;
  };
}

/** A running mean with its sample count. */
class Mean {
  private sum = 0;
  samples = 0;

  add(x: number): void {
    this.sum += x;
    this.samples++;
  }

  get value(): number {
    return this.sum / this.samples;
  }
}
