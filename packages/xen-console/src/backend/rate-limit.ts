/**
 * xenconsoled's event rate limit (tools/console/daemon/io.c): every delivered event is counted;
 * while fewer than `allowance` arrived in the current period the port is unmasked at once,
 * otherwise it stays masked until the period ends. A guest that notifies in a loop thus costs at
 * most `allowance` wake-ups per period, and a masked port is natural back-pressure.
 */
export interface RateLimitOptions {
  /** Events handled per period before the port stays masked. Default 30. */
  readonly eventsPerPeriod?: number;
  /** The length of a period, in milliseconds. Default 200. */
  readonly periodMs?: number;
}

/** Events handled per period unless told otherwise (xenconsoled's value). */
export const DEFAULT_EVENTS_PER_PERIOD = 30;
/** The rate limit's period unless told otherwise, in milliseconds (xenconsoled's value). */
export const DEFAULT_PERIOD_MS = 200;

/** Counts a guest's events per period and says when its port must stay masked; see {@link RateLimitOptions}. */
export class EventRateLimiter {
  /** Events handled per period before the port stays masked. */
  readonly allowance: number;
  /** The length of a period, in milliseconds. */
  readonly periodMs: number;
  private count = 0;
  private periodStart: number;
  /** Periods in which the limit was reached. */
  limitedPeriods = 0;

  constructor(
    options: RateLimitOptions = {},
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.allowance = options.eventsPerPeriod ?? DEFAULT_EVENTS_PER_PERIOD;
    this.periodMs = options.periodMs ?? DEFAULT_PERIOD_MS;
    if (!(Number.isInteger(this.allowance) && this.allowance >= 1)) throw new RangeError('eventsPerPeriod must be an integer >= 1');
    if (!(this.periodMs > 0)) throw new RangeError('periodMs must be > 0');
    this.periodStart = clock();
  }

  /** Counts an event; true when the port may be unmasked now. */
  admit(): boolean {
    this.roll();
    this.count += 1;
    if (this.count < this.allowance) return true;
    if (this.count === this.allowance) this.limitedPeriods += 1;
    return false;
  }

  /** Milliseconds until the current period ends (when a masked port may be unmasked). */
  msUntilNextPeriod(): number {
    return Math.max(0, this.periodStart + this.periodMs - this.clock());
  }

  /** Starts a new period if the current one is over. */
  private roll(): void {
    const t = this.clock();
    if (t - this.periodStart >= this.periodMs) {
      this.periodStart = t;
      this.count = 0;
    }
  }
}
